"""The campaign pages: the list, the live detail with its controls, a contact's timeline with
its recordings, the exports, and the JSON the pages' own script polls for live numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from outbound import service
from outbound.domain.contacts import ContactStatus
from outbound.domain.errors import CannotStart, InvalidInput, InvalidTransition, NotFound
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.limits import abandon_words
from outbound.domain.settings import AbandonWindow
from outbound.doors import MAX_ID, clock_of, store_of
from outbound.store.campaigns import Campaign
from outbound.web.auth import Editor, Viewer, WebAccountId, WebObjectId
from outbound.web.forms import Checked, text
from outbound.web.render import (
    CAMPAIGN_STATUS,
    call_text,
    event_text,
    local_time,
    page,
)

router = APIRouter(prefix="/crm/settings/calling/{account_id}", include_in_schema=False)

CONTACTS_PAGE = 25
NOTICES = {
    "started": "The campaign has started. Dialing begins within a few seconds.",
    "scheduled": "The campaign is scheduled and will start by itself at its start time.",
    "saved": "Saved as a draft.",
    "paused": "Paused. Calls in flight finish; nothing new is dialed until you resume.",
    "running": "Resumed: dialing continues where it stopped.",
    "cancelled": "Cancelled. Calls in flight finish; the campaign cannot be resumed.",
    "settings": "Pacing and concurrency saved; the dialer uses them from its next tick.",
}


def changed(request: Request) -> None:
    """Tell the engine in this process to re-read campaigns now."""
    notify = getattr(request.app.state, "on_change", None)
    if notify is not None:
        notify()


def campaigns_url(account_id: int) -> str:
    return f"/crm/settings/calling/{account_id}/outbound-campaigns"


def campaign_url(account_id: int, campaign_id: int) -> str:
    return f"{campaigns_url(account_id)}/{campaign_id}"


def _row(request: Request, campaign: Campaign, zone: str) -> dict[str, Any]:
    store = store_of(request)
    total, finished, in_flight = service.cached_progress(store, campaign.id)
    status = campaign.status
    if status is CampaignStatus.SCHEDULED:
        start = f"Starts {local_time(campaign.settings.start, zone)}"
    elif campaign.started_at is not None:
        start = f"Started {local_time(campaign.started_at, zone)}"
    else:
        start = "Not scheduled"
    return {"id": campaign.id, "name": campaign.settings.name, "status": status.value,
            "status_label": CAMPAIGN_STATUS[status], "total": total, "finished": finished,
            "in_flight": in_flight, "start": start,
            "percent": round(100 * finished / total) if total else 0}


def _zone(request: Request, account_id: int) -> str:
    return str(service.find_account(store_of(request), account_id).timezone)


@router.get("/outbound-campaigns")
def campaign_list(request: Request, account_id: WebAccountId, me: Viewer,
                  notice: str = "") -> Response:
    zone = _zone(request, account_id)
    rows = [_row(request, c, zone) for c in
            reversed(service.list_campaigns(store_of(request), account_id))]
    return page(request, "campaigns.html", rows=rows, title="Outbound campaigns",
                notice=NOTICES.get(notice))


@router.get("/outbound-campaigns/live.json")
def campaign_list_live(request: Request, account_id: WebAccountId, me: Viewer) -> JSONResponse:
    """The list's moving parts (status, progress, active dials) for every campaign."""
    zone = _zone(request, account_id)
    return JSONResponse({"campaigns": [_row(request, c, zone) for c in
                                       service.list_campaigns(store_of(request), account_id)]},
                        headers={"Cache-Control": "no-store"})


@router.get("/outbound-campaigns/sample.csv")
def sample_csv(account_id: WebAccountId, me: Viewer) -> Response:
    """A contact list to fill in: the phone column is required, the rest optional; every
    column other than phone, name and agent is kept on the contact as a field."""
    body = ("phone,name,agent,segment,booking_ref\n"
            "+14155550123,Ada Example,,spring,BK-1001\n"
            "(415) 555-0124,Ben Example,Maria,spring,BK-1002\n"
            "+44 20 7946 0958,Chloe Example,,uk,BK-1003\n")
    return Response(body, media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="contacts-template.csv"'})


@router.get("/outbound-campaigns/{campaign_id}")
def campaign_detail(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                    me: Viewer, status: str = "",
                    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0, notice: str = ""
                    ) -> Response:
    return _detail(request, account_id, campaign_id, status=status, after=after,
                   notice=NOTICES.get(notice))


def _detail(request: Request, account_id: int, campaign_id: int, *, status: str = "",
            after: int = 0, notice: str | None = None, error: str | None = None,
            errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
            code: int = 200) -> Response:
    store = store_of(request)
    campaign = service.campaign_of(store, account_id, campaign_id)
    live = service.live_stats(store, account_id, campaign_id, clock_of(request).now())
    zone = _zone(request, account_id)
    wanted = ContactStatus(status) if status in {s.value for s in ContactStatus} else None
    contacts, following = service.list_contacts(store, account_id, campaign_id, wanted,
                                                after or None, CONTACTS_PAGE)
    return page(request, "campaign.html", code, campaign=campaign, settings=campaign.settings,
                live=live, activity=activity(live, zone), abandon_text=abandon_text(live),
                contacts=contacts,
                following=following, filter=wanted.value if wanted else "", notice=notice,
                error=error, errors=errors or {}, values=values or {},
                title=campaign.settings.name,
                dnc_flagged=service.dnc_flagged(store, campaign_id))


def activity(live: dict[str, Any], zone: str) -> list[dict[str, str]]:
    """Campaign events and the latest calls, newest first, in words."""
    items = [(e["at"], event_text(e["kind"], e["detail"])) for e in live["recent_events"]]
    items += [(c["at"], call_text(c)) for c in live["recent_calls"]]
    items.sort(key=lambda item: item[0], reverse=True)  # ISO-8601 UTC text sorts by time
    return [{"at": at, "when": _clock(at, zone), "text": words} for at, words in items[:20]]


def abandon_text(live: dict[str, Any]) -> str:
    """The abandon rate over the campaign's window beside its target, in words."""
    abandon = live["abandon"]
    return "Over the window: " + abandon_words(abandon["rate"], abandon["target"],
                                               AbandonWindow(abandon["window"]))


def _clock(at: str, zone: str) -> str:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(
        ZoneInfo(zone)).strftime("%H:%M:%S")


@router.get("/outbound-campaigns/{campaign_id}/live.json")
def campaign_live(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                  me: Viewer) -> JSONResponse:
    """The detail page's numbers, read by its script every second."""
    live = service.live_stats(store_of(request), account_id, campaign_id,
                              clock_of(request).now())
    zone = _zone(request, account_id)
    body = {k: live[k] for k in ("status", "contacts", "in_flight", "free_agents", "pacing",
                                 "concurrency", "dnc_blocks", "answered", "abandoned",
                                 "abandonment_rate", "total", "finished", "agents",
                                 "limited_by", "limited_by_text")}
    body["abandon_text"] = abandon_text(live)
    body["status_label"] = CAMPAIGN_STATUS[CampaignStatus(live["status"])]
    body["activity"] = activity(live, zone)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/outbound-campaigns/{campaign_id}/actions/{action}")
async def campaign_action(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                          action: str, me: Editor) -> Response:
    """Start, pause, resume or cancel. Cancel is final, so it asks first: without
    confirm=yes the answer is a page that asks."""
    allowed = {"start": CampaignAction.START, "pause": CampaignAction.PAUSE,
               "resume": CampaignAction.RESUME, "cancel": CampaignAction.CANCEL}
    if action not in allowed:
        raise NotFound(f"no action {action!r}")
    store = store_of(request)
    campaign = service.campaign_of(store, account_id, campaign_id)
    form = await request.form()
    if action == "cancel" and text(form, "confirm") != "yes":
        return page(request, "confirm_cancel.html", campaign=campaign,
                    title=f"Cancel {campaign.settings.name}?")
    try:
        if action == "start":
            service.check_has_contacts(store, campaign_id,
                                       "upload a list first (setup, step 2)")
        done = service.act(store, account_id, campaign_id, allowed[action],
                           clock_of(request).now())
    except (InvalidTransition, CannotStart, InvalidInput) as exc:
        return _detail(request, account_id, campaign_id, error=_said(exc), code=409)
    changed(request)
    return RedirectResponse(f"{campaign_url(account_id, campaign_id)}?notice="
                            f"{done.status.value if action != 'start' else 'started'}", 303)


def _said(exc: Exception) -> str:
    if isinstance(exc, InvalidInput):
        return exc.message[0].upper() + exc.message[1:]
    message = str(exc)
    return message[0].upper() + message[1:]


@router.post("/outbound-campaigns/{campaign_id}/pacing")
async def campaign_pacing(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                          me: Editor) -> Response:
    """Pacing and concurrency, the two settings that may change while a campaign runs."""
    store = store_of(request)
    campaign = service.campaign_of(store, account_id, campaign_id)
    form = await request.form()
    checked = Checked(campaign.settings, service.find_account(store, account_id).region)
    checked.add_number("pacing", form, "calls per second")
    checked.add_number("concurrency", form, "calls in flight")
    if not checked.errors:
        try:
            service.update_campaign(store, account_id, campaign_id, checked.changes,
                                    clock_of(request).now())
        except InvalidInput as exc:
            checked.fail(exc.field, exc.message)
    if checked.errors:
        return _detail(request, account_id, campaign_id, errors=checked.errors,
                       values={k: text(form, k) for k in ("pacing", "concurrency")}, code=422)
    changed(request)
    return RedirectResponse(f"{campaign_url(account_id, campaign_id)}?notice=settings", 303)


@router.get("/outbound-campaigns/{campaign_id}/contacts/{contact_id}")
def contact_page(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                 contact_id: WebObjectId, me: Viewer) -> Response:
    store = store_of(request)
    campaign = service.campaign_of(store, account_id, campaign_id)
    contact, timeline = service.contact_with_timeline(store, account_id, campaign_id,
                                                      contact_id)
    return page(request, "contact.html", campaign=campaign, contact=contact,
                timeline=timeline, title=contact["name"] or contact["phone"])


@router.get("/recordings/{attempt_id}")
def recording(request: Request, account_id: WebAccountId, attempt_id: WebObjectId,
              me: Viewer) -> Response:
    found = service.recording(store_of(request), account_id, attempt_id)
    disposition = {"Content-Disposition": f'inline; filename="{found.file_name}"'}
    if found.path is not None:
        return FileResponse(found.path, media_type=found.media_type, headers=disposition)
    assert found.chunks is not None
    return StreamingResponse(found.chunks, media_type=found.media_type, headers=disposition)


@router.get("/outbound-campaigns/{campaign_id}/calls.csv")
def calls_export(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                 me: Viewer) -> Response:
    return _download(service.calls_csv(
        store_of(request), account_id, campaign_id, lambda a: str(request.url_for(
            "recording", account_id=account_id, attempt_id=a.id))))


def _download(export: service.Export) -> Response:
    return Response(export.text(), media_type=export.media_type, headers={
        "Content-Disposition": f'attachment; filename="{export.file_name}"'})


@router.get("/outbound-campaigns/{campaign_id}/failed.csv")
def failed_export(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                  me: Viewer) -> Response:
    return _download(service.failed_csv(store_of(request), account_id, campaign_id))


@router.get("/uploads/{report_id}/errors.csv")
def upload_errors(request: Request, account_id: WebAccountId, report_id: WebObjectId,
                  me: Viewer) -> Response:
    """The row errors of an upload made through the pages, as a spreadsheet-safe CSV."""
    body = service.upload_errors_csv(store_of(request), account_id, report_id)
    return Response(body, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="upload-{report_id}-row-errors.csv"'})
