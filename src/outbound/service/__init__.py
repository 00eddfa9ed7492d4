"""What the three doors (the command line, the Partner API and the dashboard's pages) do to
an account, in one place: each door parses its input, calls a function here and shows the
value it returns.

One implementation behind every door, so they say the same thing about the same campaign and
refuse the same input with the same words. Callers have already decided who may do what
(api/auth.py, web/auth.py); every function that takes an account checks tenancy itself:
another account's campaign, contact or recording is NotFound. Nothing here reads the clock
(`now` is an argument), writes SQL (the store's repositories do) or knows HTTP (recordings
and exports are values the door turns into responses).

The doors call `service.<function>`; the functions live in modules by area and are named
here once.
"""

from outbound.service.accounts import (
    add_numbers,
    add_webhook,
    create_account,
    create_token,
    create_user,
    find_account,
    numbers,
    provider,
    remove_webhook,
    revoke_tokens,
    set_provider,
    twilio_settings,
    webhooks,
)
from outbound.service.campaigns import (
    act,
    campaign_of,
    campaign_summary,
    check_can_start,
    check_has_contacts,
    contact_counts,
    create_campaign,
    delete_campaign,
    dnc_flagged,
    find_campaign,
    list_campaigns,
    load_scenario,
    progress,
    update_campaign,
)
from outbound.service.contacts import (
    TimelineEntry,
    check_open_for_contacts,
    contact_json,
    contact_with_timeline,
    import_contact_rows,
    import_contacts_csv,
    import_contacts_file,
    import_contacts_json,
    list_contacts,
    reset_contact,
)
from outbound.service.dnc import (
    add_dnc,
    dnc_count,
    dnc_csv,
    dnc_entry,
    import_dnc_file,
    import_dnc_path,
    remove_dnc,
    remove_dnc_numbers,
    search_dnc,
    write_dnc,
)
from outbound.service.exports import Export, calls_csv, failed_csv
from outbound.service.identity import (
    authenticate,
    check_login,
    end_session,
    session_user,
    start_session,
)
from outbound.service.people import (
    add_agent,
    add_department,
    add_voice_menu,
    agent,
    agents,
    departments,
    targets,
    update_agent,
    voice_menus,
)
from outbound.service.recordings import (
    Recording,
    attach_recording,
    is_attempt_of,
    recording,
)
from outbound.service.stats import (
    CampaignCache,
    cached_progress,
    compute_stats,
    live_stats,
    totals,
)
from outbound.service.uploads import keep_upload, latest_uploads, upload_errors_csv

__all__ = [
    "CampaignCache",
    "Export",
    "Recording",
    "TimelineEntry",
    "act",
    "add_agent",
    "add_department",
    "add_dnc",
    "add_numbers",
    "add_voice_menu",
    "add_webhook",
    "agent",
    "agents",
    "attach_recording",
    "authenticate",
    "cached_progress",
    "calls_csv",
    "campaign_of",
    "campaign_summary",
    "check_can_start",
    "check_has_contacts",
    "check_login",
    "check_open_for_contacts",
    "compute_stats",
    "contact_counts",
    "contact_json",
    "contact_with_timeline",
    "create_account",
    "create_campaign",
    "create_token",
    "create_user",
    "delete_campaign",
    "departments",
    "dnc_count",
    "dnc_csv",
    "dnc_entry",
    "dnc_flagged",
    "end_session",
    "failed_csv",
    "find_account",
    "find_campaign",
    "import_contact_rows",
    "import_contacts_csv",
    "import_contacts_file",
    "import_contacts_json",
    "import_dnc_file",
    "import_dnc_path",
    "is_attempt_of",
    "keep_upload",
    "latest_uploads",
    "list_campaigns",
    "list_contacts",
    "live_stats",
    "load_scenario",
    "numbers",
    "progress",
    "provider",
    "recording",
    "remove_dnc",
    "remove_dnc_numbers",
    "remove_webhook",
    "reset_contact",
    "revoke_tokens",
    "search_dnc",
    "session_user",
    "set_provider",
    "start_session",
    "targets",
    "totals",
    "twilio_settings",
    "update_agent",
    "update_campaign",
    "upload_errors_csv",
    "voice_menus",
    "webhooks",
    "write_dnc",
]
