"""The SIP adapter's plain rules import where pjsua2 cannot, and the adapter itself is then
reported unavailable to the accounts that use it, not a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a fresh interpreter where `import pjsua2` fails, whether or not it is installed here.
_WITHOUT_PJSUA2 = 'import sys\nsys.modules["pjsua2"] = None\n'

PURE = ("outbound.telephony.sip", "outbound.telephony.sip.outcomes",
        "outbound.telephony.sip.trunk")


def run_without_pjsua2(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _WITHOUT_PJSUA2 + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_outcome_table_and_the_trunk_settings_import_without_pjsua2() -> None:
    done = run_without_pjsua2(f"""
        import importlib
        for name in {PURE!r}:
            importlib.import_module(name)
        from outbound.telephony.sip.outcomes import outcome_for
        from outbound.telephony.sip.trunk import Trunk, parse_settings
        trunk = Trunk.from_settings(parse_settings({{"kind": "sip",
                                                    "proxy": "sip:127.0.0.1:5070"}}))
        print(outcome_for(486).value, trunk.customer_uri("+14155550123"))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["busy", "sip:+14155550123@127.0.0.1:5070"]


def test_without_pjsua2_a_sip_account_is_told_its_adapter_is_not_available_here() -> None:
    done = run_without_pjsua2("""
        from pathlib import Path
        from outbound.clock import VirtualClock
        from outbound.domain.errors import InvalidInput
        from outbound.telephony.registry import ProviderContext, build_provider
        context = ProviderContext(1, VirtualClock(0.0), lambda event: None, Path("."))
        try:
            build_provider(context, {"kind": "sip", "proxy": "sip:127.0.0.1:5070"})
        except InvalidInput as refused:
            print(refused.field)
            print(refused.message)
        else:
            raise SystemExit("the SIP adapter was built where pjsua2 cannot be imported")
    """)
    assert done.returncode == 0, done.stderr
    field, message = done.stdout.splitlines()
    assert field == "provider.kind"
    assert message.startswith("the sip adapter is not available here: ")
    assert "pjsua2" in message
