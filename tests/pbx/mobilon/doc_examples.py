"""The XML answers of ``/api/call/info`` and ``/api/call/journal`` exactly as
mobilon-api.md writes them (``{token}`` and ``{callid}`` placeholders and the bare ``&``
of ``record_url`` included). Use these wherever a test means "the doc's example"."""

from __future__ import annotations

# mobilon-api.md lines 118-127 ("получение информации о звонке по callid").
INFO_LINES = (118, 127)
INFO = """\
<?xml version="1.0" encoding="UTF-8"?>
<call>
  <callid>1324324.8997834</callid>
  <status>ANSWERED</status>
  <record_url>/api/call/record?token={token}&callid={callid}</record_url>
  <duration>203</duration>
  <from>81234567890</from>
  <to>123123</to>
  <time>2015-04-28 12:00:00</time>
</call>
"""

# mobilon-api.md lines 151-170 ("получение информации о звонках за период").
JOURNAL_LINES = (151, 170)
JOURNAL = """\
<?xml version="1.0" encoding="UTF-8"?>
<calls>
  <call>
    <callid>32423423.324324</callid>
    <status>ANSWERED</status>
    <duration>113</duration>
    <from>81234567890</from>
    <to>987315</to>
    <time>2015-04-28 13:12:00</time>
  </call>
  <call>
    <callid>32423423.323242</callid>
    <status>ANSWERED</status>
    <record_url>/api/call/record?token={token}&callid={callid}</record_url>
    <duration>203</duration>
    <from>81234567890</from>
    <to>123123</to>
    <time>2015-04-28 12:00:00</time>
  </call>
</calls>
"""
