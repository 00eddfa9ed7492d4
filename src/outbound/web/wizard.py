"""The four-step campaign wizard: Basics; Contacts and number pool; Routing and retry;
Schedule and review.

Step 1 creates the campaign as a draft and every later step saves into it, so the store holds
the wizard's state (see docs/decisions.md): a half-set-up campaign survives a closed tab, shows
in the list as a Draft, and can be finished later from any browser. Each step checks its fields
with the domain's own rules and shows every error beside its field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from outbound import service
from outbound.domain.errors import CannotStart, InvalidInput, InvalidTransition
from outbound.domain.lifecycle import CampaignAction, CampaignStatus
from outbound.domain.settings import CampaignSettings
from outbound.doors import clock_of, store_of
from outbound.store.campaigns import Campaign
from outbound.web import forms
from outbound.web.auth import Editor, ManagerPage, WebAccountId, WebObjectId
from outbound.web.pages import campaign_url, campaigns_url, changed
from outbound.web.render import page

router = APIRouter(prefix="/crm/settings/calling/{account_id}/outbound-campaigns",
                   include_in_schema=False)

STEPS = ("Basics", "Contacts and number pool", "Routing and retry", "Schedule and review")
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


def setup_url(account_id: int, campaign_id: int, step: int) -> str:
    return f"{campaign_url(account_id, campaign_id)}/setup/{step}"


def _number(value: float) -> str:
    return f"{value:g}"


def values_of(request: Request, account_id: int, settings: CampaignSettings) -> dict[str, Any]:
    """The form values that show a campaign's settings."""
    account = service.find_account(store_of(request), account_id)
    hours: dict[str, Any] = settings.business_hours.to_dict() if settings.business_hours \
        else account.business_hours
    transfer = settings.transfer
    return {
        "name": settings.name, "dial_mode": settings.dial_mode.value,
        "pacing": _number(settings.pacing), "concurrency": str(settings.concurrency),
        "dialing": settings.dialing.value, "abandon_target": _number(settings.abandon_target),
        "abandon_window": settings.abandon_window.value,
        "abandon_message": settings.abandon_message or "",
        "numbers": list(settings.numbers), "new_numbers": "",
        "rotation": settings.rotation.value,
        "transfer": f"{transfer.kind.value}:{transfer.name}" if transfer else "",
        "attempts": str(settings.attempts),
        "backoff_seconds": _number(settings.backoff.seconds),
        "backoff_multiplier": _number(settings.backoff.multiplier),
        "recording": settings.recording,
        "hours_mode": "override" if settings.business_hours else "default",
        "hours_timezone": hours["timezone"], "hours_days": list(hours["days"]),
        "hours_open": hours["open"], "hours_close": hours["close"],
        "start_at": forms.datetime_local(settings.start, request, account_id),
    }


def values_from(form: FormData, current: dict[str, Any]) -> dict[str, Any]:
    """The values just posted, over the stored ones: what the user typed is shown again."""
    values = dict(current)
    for key in current:
        if key in ("numbers", "hours_days"):
            # Unticked boxes send nothing: the step's own other fields tell it was posted.
            if "new_numbers" in form if key == "numbers" else "hours_mode" in form:
                values[key] = [v for v in form.getlist(key) if isinstance(v, str)]
        elif key == "recording":
            if "attempts" in form:  # step 3 was posted: an unticked box sends nothing
                values[key] = form.get("recording") == "on"
        elif key in form:
            values[key] = forms.text(form, key)
    return values


def _render(request: Request, account_id: int, step: int, campaign: Campaign | None, *,
            values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
            error: str | None = None, status: int = 200) -> Response:
    store = store_of(request)
    settings = campaign.settings if campaign else CampaignSettings(name="")
    context: dict[str, Any] = {
        "step": step, "steps": STEPS, "campaign": campaign, "errors": errors or {},
        "error": error, "values": values or values_of(request, account_id, settings),
        "title": f"New campaign · {STEPS[step - 1]}" if campaign is None else
                 f"{campaign.settings.name} · {STEPS[step - 1]}",
    }
    if campaign is not None:
        context["step_url"] = lambda n: setup_url(account_id, campaign.id, n)
    if step == 2 and campaign is not None:
        context["account_numbers"] = service.numbers(store, account_id)
        context["contacts"] = service.progress(store, campaign.id)[0]
        context["dnc_flagged"] = service.dnc_flagged(store, campaign.id)
        context["reports"] = service.latest_uploads(store, account_id, "contacts", campaign.id)
    if step == 3:
        context["targets"] = service.targets(store, account_id)
        context["account_hours"] = service.find_account(store, account_id).business_hours
    if step == 4 and campaign is not None:
        context["contacts"] = service.progress(store, campaign.id)[0]
        context["dnc_flagged"] = service.dnc_flagged(store, campaign.id)
        context["missing"] = _missing(request, account_id, campaign)
        context["account_hours"] = service.find_account(store, account_id).business_hours
    return page(request, "wizard.html", status, **context)


def _missing(request: Request, account_id: int, campaign: Campaign) -> list[tuple[str, int]]:
    """What stops the campaign from starting, each with the step that fixes it."""
    store = store_of(request)
    settings = campaign.settings
    missing = []
    if not service.progress(store, campaign.id)[0]:
        missing.append(("Contacts: upload a list", 2))
    if not settings.numbers:
        missing.append(("A number pool for caller ID", 2))
    if settings.transfer is None:
        missing.append(("A transfer target for answered calls", 3))
    else:
        try:
            service.check_can_start(store, campaign)
        except CannotStart as exc:  # the target is gone, or agent-first to a voice menu
            if settings.numbers:
                reason = str(exc).split("cannot start: ", 1)[-1]
                missing.append((reason[:1].upper() + reason[1:], 3))
    return missing


def _editable(request: Request, account_id: int, campaign_id: int) -> Campaign:
    campaign = service.campaign_of(store_of(request), account_id, campaign_id)
    if campaign.status not in EDITABLE:
        raise InvalidTransition(
            f"the campaign is {campaign.status.value}: only a draft or a scheduled campaign "
            "can be set up again (a running one can change pacing and concurrency on its page)")
    return campaign


@router.get("/new")
def new_campaign(request: Request, account_id: WebAccountId, me: ManagerPage) -> Response:
    return _render(request, account_id, 1, None)


@router.post("/new")
async def create_campaign(request: Request, account_id: WebAccountId, me: Editor) -> Response:
    store = store_of(request)
    form = await request.form()
    region = service.find_account(store, account_id).region
    checked = forms.basics(form, CampaignSettings(name="-"), region)
    if not checked.errors:
        try:
            campaign = service.create_campaign(store, account_id, checked.changes,
                                               clock_of(request).now())
        except InvalidInput as exc:
            checked.fail(forms.form_field(exc.field), exc.message)
    if checked.errors:
        values = values_from(form, values_of(request, account_id, CampaignSettings(name="")))
        return _render(request, account_id, 1, None, values=values, errors=checked.errors,
                       status=422)
    return RedirectResponse(setup_url(account_id, campaign.id, 2), 303)


@router.get("/{campaign_id}/setup/{step}")
def setup_step(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
               step: int, me: ManagerPage) -> Response:
    if step not in (1, 2, 3, 4):
        return RedirectResponse(setup_url(account_id, campaign_id, 1), 303)
    return _render(request, account_id, step, _editable(request, account_id, campaign_id))


@router.post("/{campaign_id}/setup/{step}")
async def save_step(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                    step: int, me: Editor) -> Response:
    store = store_of(request)
    campaign = _editable(request, account_id, campaign_id)
    form = await request.form()
    if step == 4:
        return await _launch(request, account_id, campaign, form)
    region = service.find_account(store, account_id).region
    if step == 1:
        checked = forms.basics(form, campaign.settings, region)
    elif step == 2:
        checked = forms.pool(form, campaign.settings, region)
    elif step == 3:
        checked = forms.routing(form, campaign.settings, region,
                                service.targets(store, account_id))
    else:
        return RedirectResponse(setup_url(account_id, campaign_id, 1), 303)
    if not checked.errors:
        try:
            service.update_campaign(store, account_id, campaign_id, checked.changes,
                                    clock_of(request).now())
        except InvalidInput as exc:
            checked.fail(forms.form_field(exc.field), exc.message)
    if checked.errors:
        values = values_from(form, values_of(request, account_id, campaign.settings))
        return _render(request, account_id, step, campaign, values=values,
                       errors=checked.errors, status=422)
    changed(request)
    return RedirectResponse(setup_url(account_id, campaign_id, step + 1), 303)


@router.post("/{campaign_id}/contacts-upload")
async def upload_contacts(request: Request, account_id: WebAccountId, campaign_id: WebObjectId,
                          me: Editor) -> Response:
    """A CSV into the campaign; its report is kept and shown on step 2."""
    store = store_of(request)
    campaign = _editable(request, account_id, campaign_id)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _render(request, account_id, 2, campaign, status=422,
                       errors={"file": "choose a CSV file to upload"})
    region = service.find_account(store, account_id).region
    try:
        report = service.import_contacts_csv(store, account_id, campaign, upload.file, region,
                                             clock_of(request).now())
    except InvalidInput as exc:
        return _render(request, account_id, 2, campaign, status=422,
                       errors={"file": exc.message})
    service.keep_upload(store, account_id, campaign_id, "contacts", upload.filename, me.email,
                        report, clock_of(request).now())
    changed(request)
    return RedirectResponse(setup_url(account_id, campaign_id, 2) + "#upload-report", 303)


async def _launch(request: Request, account_id: int, campaign: Campaign,
                  form: FormData) -> Response:
    """Step 4's buttons: save as draft, schedule at the start time, or start now."""
    store = store_of(request)
    action = forms.text(form, "action")
    now = clock_of(request).now()
    scheduling = action == "schedule"
    start, problem = forms.start_time(forms.text(form, "start_at"), request, account_id, now,
                                      scheduling=scheduling)
    values = values_from(form, values_of(request, account_id, campaign.settings))
    if problem is not None:
        return _render(request, account_id, 4, campaign, values=values, status=422,
                       errors={"start_at": problem})
    try:
        if action in ("schedule", "start"):
            service.check_has_contacts(store, campaign.id, "upload a list in step 2")
        if start is not None or action != "start":
            service.update_campaign(store, account_id, campaign.id, {"start": start}, now)
        if action == "draft":
            if campaign.status is CampaignStatus.SCHEDULED:
                service.act(store, account_id, campaign.id, CampaignAction.UNSCHEDULE, now)
            notice = "saved"
        elif action == "schedule":
            if campaign.status is CampaignStatus.DRAFT:
                service.act(store, account_id, campaign.id, CampaignAction.SCHEDULE, now)
            else:  # already scheduled: the new time is saved; check it could still start
                service.check_can_start(store, service.campaign_of(store, account_id,
                                                                   campaign.id))
            notice = "scheduled"
        elif action == "start":
            service.act(store, account_id, campaign.id, CampaignAction.START, now)
            notice = "started"
        else:
            raise InvalidInput("action", "choose Save as draft, Schedule or Start now")
    except (CannotStart, InvalidTransition, InvalidInput) as exc:
        message = exc.message if isinstance(exc, InvalidInput) else str(exc)
        return _render(request, account_id, 4,
                       service.campaign_of(store, account_id, campaign.id), values=values,
                       error=message[0].upper() + message[1:], status=409)
    changed(request)
    if notice == "saved":
        return RedirectResponse(f"{campaigns_url(account_id)}?notice=saved", 303)
    return RedirectResponse(f"{campaign_url(account_id, campaign.id)}?notice={notice}", 303)
