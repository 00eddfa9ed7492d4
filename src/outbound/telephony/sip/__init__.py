"""The SIP-trunk adapter: Outbound as a back-to-back user agent, on pjsua2.

Customers are dialed through the trunk (`INVITE sip:+E164@proxy`, From the rotation's number,
P-Asserted-Identity when enabled, digest credentials, REGISTER when asked); agents at their
`sip_uri`, or at their number through the trunk. A bridged call's two legs meet in pjsua2's
conference bridge, which also feeds the call's recording; a voice menu plays its prompt and
reads RFC 4733 digits; an abandoned call hears its campaign's message (a 9 pressed meanwhile
is reported) before the BYE.

The rooms: `outcomes` (SIP final responses → outcomes) and `trunk` (the trunk's settings and
the addresses it dials) are plain rules that import without pjsua2. pjsua2 is imported by
`native` (its errors and logs), `phone` (the library on a thread of its own, with its timers
and accounts), `switchboard` (the calls in flight and their call slots), `legs` (one SIP
call), `media` (recorders, players, the conference bridge) and `adapter` (the Provider the
registry builds, on the engine's loop). This module imports none of them.

Threads: the engine's event loop calls the adapter, which queues each request to the phone's
thread and returns at once; call events go back with `loop.call_soon_threadsafe`. Every
pjsua2 object is made, used and dropped on the phone's thread, and nothing of pjsua2 leaves
this package: its failures become `ProviderError` or a call that ends as `provider_error`.

Limits of the pinned build (pjsua2-python 2.15.1.post1, measured): 4 simultaneous calls per
process (PJSUA_MAX_CALLS, fixed when the library is compiled) and 8 accounts. A bridged
call needs two, so the phone holds two call slots per attempt from its first leg to its
last, and answers an originate it has no slots for with a REFUSED event: nothing is dialed,
and the engine slows down and tries the contact again later.
"""
