"""Old-style and variant kanji folded to the common form, for matching only.

People write the same surname or place with different glyphs (髙橋/高橋, 渡邊/渡辺,
齋藤/斎藤), and registries, bank statements and business cards disagree. Records
keep what the customer wrote; only matching keys and the search index are folded.

NFKC already folds CJK *compatibility* ideographs (e.g. U+F9DC 隆 → 隆), so this
table lists only unified ideographs NFKC leaves alone. Each entry is "variant
common"; a common form is never itself a variant, so one pass is enough.
"""

from __future__ import annotations

# Grouped for review; order inside a group has no meaning.
_PAIRS = """
髙高 﨑崎 嵜崎 碕崎 𥔎崎 齋斎 齊斎 斉斎 邊辺 邉辺 澤沢 濱浜 濵浜 廣広 國国 櫻桜
藏蔵 龍竜 瀨瀬 德徳 惠恵 眞真 壽寿 實実 萬万 與与 嶋島 嶌島 冨富 曾曽 槇槙 彌弥
淵渕 礒磯 圓円 條条 會会 學学 氣気 榮栄 𠮷吉 舘館 栁柳 桒桑 槗橋 柗松 峯峰 邨村
埜野 薗園 檜桧 藪薮 籔薮 劔剣 劍剣 劒剣 釼剣 冲沖 曻昇 昻昂 鷗鴎 郞郎 淸清 靑青
黑黒 吳呉 內内 戶戸 姬姫 鄕郷 鄉郷 稻稲 亙亘 凜凛 驒騨 麴麹 瀧滝 嶽岳 黃黄 晉晋
亞亜 惡悪 壓圧 圍囲 醫医 爲為 壹壱 隱隠 營営 衞衛 驛駅 奧奥 橫横 歐欧 毆殴 溫温
價価 假仮 畫画 壞壊 懷懐 繪絵 擴拡 覺覚 樂楽 勸勧 卷巻 歡歓 罐缶 觀観 關関 陷陥
巖巌 顏顔 歸帰 龜亀 僞偽 戲戯 犧犠 舊旧 據拠 擧挙 峽峡 挾挟 狹狭 曉暁 區区 驅駆
勳勲 徑径 莖茎 溪渓 經経 繼継 輕軽 鷄鶏 雞鶏 藝芸 缺欠 儉倹 圈圏 檢検 權権 獻献
縣県 險険 顯顕 驗験 嚴厳 效効 恆恒 鑛鉱 號号 濟済 碎砕 劑剤 雜雑 參参 慘惨 棧桟
蠶蚕 贊賛 殘残 絲糸 齒歯 兒児 辭辞 濕湿 舍舎 寫写 釋釈 收収 從従 澁渋 獸獣 縱縦
肅粛 處処 緖緒 敍叙 將将 奬奨 燒焼 稱称 證証 乘乗 剩剰 壤壌 孃嬢 淨浄 狀状 疊畳
讓譲 釀醸 囑嘱 觸触 寢寝 愼慎 盡尽 圖図 粹粋 醉酔 穗穂 隨随 髓髄 樞枢 數数 聲声
靜静 攝摂 竊窃 專専 戰戦 淺浅 潛潜 纖繊 錢銭 禪禅 雙双 壯壮 搜捜 插挿 巢巣 爭争
窗窓 總総 聰聡 莊荘 裝装 騷騒 增増 臟臓 屬属 續続 墮堕 體体 躰体 對対 帶帯 滯滞
臺台 擇択 單単 擔担 膽胆 團団 彈弾 斷断 癡痴 遲遅 晝昼 蟲虫 鑄鋳 廳庁 聽聴 鎭鎮
遞逓 鐵鉄 鐡鉄 轉転 點点 傳伝 黨党 盜盗 燈灯 當当 鬪闘 獨独 讀読 屆届 繩縄 貳弐
腦脳 霸覇 廢廃 拜拝 賣売 麥麦 發発 髮髪 拔抜 蠻蛮 祕秘 拂払 佛仏 竝並 變変 辨弁
瓣弁 辯弁 舖舗 步歩 寶宝 豐豊 沒没 飜翻 每毎 滿満 默黙 譯訳 藥薬 豫予 餘余 譽誉
搖揺 樣様 謠謡 來来 賴頼 亂乱 覽覧 兩両 獵猟 綠緑 壘塁 勵励 禮礼 隸隷 靈霊 齡齢
戀恋 爐炉 勞労 樓楼 祿禄 錄録 灣湾 敎教 硏研 卽即 旣既 絕絶 虛虚 淚涙 歷歴 曆暦
娛娯 螢蛍 蠟蝋 襃褒 豎竪 賤賎 遙遥 醱醗 顚顛 鰺鯵 麪麺 禱祷 瑤瑶 甁瓶 竈竃 蘆芦
欝鬱 礙碍 攪撹 凉涼 况況 决決 册冊 舩船 駈駆 冰氷
"""


def _build() -> dict[str, str]:
    table: dict[str, str] = {}
    for pair in _PAIRS.split():
        variant, common = pair
        table[variant] = common
    return table


VARIANT_KANJI: dict[str, str] = _build()
"""variant → common form (one code point each)."""
