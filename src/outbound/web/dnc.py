"""The account's do-not-call page: search, add by hand, upload a list (with its report),
export and delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from outbound import service
from outbound.domain.errors import InvalidInput, NotFound
from outbound.doors import clock_of, store_of
from outbound.web.auth import Editor, Viewer, WebAccountId
from outbound.web.forms import split_numbers, text
from outbound.web.render import page

router = APIRouter(prefix="/crm/settings/calling/{account_id}", include_in_schema=False)
SHOWN = 100  # entries listed per search


def dnc_url(account_id: int) -> str:
    return f"/crm/settings/calling/{account_id}/dnc"


def _render(request: Request, account_id: int, *, q: str = "", notice: str | None = None,
            errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
            status: int = 200) -> Response:
    store = store_of(request)
    search_error = None
    try:
        entries = service.search_dnc(store, account_id, q, SHOWN + 1)
    except InvalidInput as exc:
        entries, search_error = [], exc.message
    total = service.dnc_count(store, account_id)
    return page(request, "dnc.html", status, q=q, entries=entries[:SHOWN],
                more=len(entries) > SHOWN, total=total, search_error=search_error,
                notice=notice, errors=errors or {}, values=values or {},
                reports=service.latest_uploads(store, account_id, "dnc", limit=3),
                title="Do-not-call list")


@router.get("/dnc")
def dnc_page(request: Request, account_id: WebAccountId, me: Viewer, q: str = "",
             added: int = -1, already: int = 0, removed: str = "") -> Response:
    notice = None
    if added >= 0:
        notice = f"Added {added} number{'' if added == 1 else 's'}" + (
            f"; {already} {'was' if already == 1 else 'were'} already on the list"
            if already else "") + "."
    elif removed:
        notice = f"Removed {removed} from the list: it can be dialed again."
    return _render(request, account_id, q=q[:40], notice=notice)


@router.post("/dnc/add")
async def dnc_add(request: Request, account_id: WebAccountId, me: Editor) -> Response:
    form = await request.form()
    numbers = split_numbers(text(form, "numbers"))
    if not numbers:
        return _render(request, account_id, status=422,
                       errors={"numbers": "type at least one number"})
    try:
        normalized, added = service.add_dnc(store_of(request), account_id, numbers, me.email,
                                            "web", clock_of(request).now())
    except InvalidInput as exc:
        return _render(request, account_id, status=422, errors={"numbers": exc.message},
                       values={"numbers": text(form, "numbers")})
    already = len(set(normalized)) - added
    query = normalized[0] if len(normalized) == 1 else ""
    return RedirectResponse(f"{dnc_url(account_id)}?added={added}&already={already}"
                            f"&q={query.replace('+', '%2B')}", 303)


@router.post("/dnc/upload")
async def dnc_upload(request: Request, account_id: WebAccountId, me: Editor) -> Response:
    store = store_of(request)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _render(request, account_id, status=422,
                       errors={"file": "choose a file: one number per line, or a CSV with a "
                               "phone column"})
    try:
        report = service.import_dnc_file(store, account_id, upload.file, me.email,
                                         f"web upload {upload.filename}"[:200],
                                         clock_of(request).now())
    except InvalidInput as exc:
        return _render(request, account_id, status=422, errors={"file": exc.message})
    service.keep_upload(store, account_id, None, "dnc", upload.filename, me.email, report,
                        clock_of(request).now())
    return RedirectResponse(f"{dnc_url(account_id)}#upload-report", 303)


@router.post("/dnc/delete")
async def dnc_delete(request: Request, account_id: WebAccountId, me: Editor) -> Response:
    form = await request.form()
    number = text(form, "number")
    try:
        e164 = service.remove_dnc(store_of(request), account_id, number)
    except (InvalidInput, NotFound) as exc:
        message = exc.message if isinstance(exc, InvalidInput) else str(exc)
        return _render(request, account_id, status=404 if isinstance(exc, NotFound) else 422,
                       errors={"delete": message})
    return RedirectResponse(f"{dnc_url(account_id)}?removed={e164.replace('+', '%2B')}", 303)


@router.get("/dnc.csv")
def dnc_export(request: Request, account_id: WebAccountId, me: Viewer) -> Response:
    export = service.dnc_csv(store_of(request), account_id)
    return Response(export.text(), media_type=export.media_type, headers={
        "Content-Disposition": f'attachment; filename="{export.file_name}"'})
