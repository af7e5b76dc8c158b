"""The download answer for a finished export, shared by the export page and the API."""

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header

from enishi.transfer.services import ExportFile


def download_response(result: ExportFile) -> HttpResponseBase:
    """The file as an attachment: UTF-8 CSV streamed while it is made, the others from their
    temporary file. A Japanese file name is sent as RFC 5987 `filename*`."""
    if result.chunks is not None:
        response: HttpResponseBase = StreamingHttpResponse(
            result.chunks, content_type=result.content_type
        )
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=result.filename
        )
    else:
        response = FileResponse(
            result.file,
            as_attachment=True,
            filename=result.filename,
            content_type=result.content_type,
        )
    response["Cache-Control"] = "no-store"
    response["X-Enishi-Export-Rows"] = str(result.record.row_count)
    if result.report is not None and result.report.characters:
        response["X-Enishi-Replaced-Characters"] = str(result.report.characters)
    return response
