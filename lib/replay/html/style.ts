/** The page's only style sheet, inline: the report loads nothing. */
export const STYLE = `
body{font:14px/1.45 system-ui,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1c2330;background:#f2f4f8}
header{background:#1c2330;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:24px}header p{margin:0;color:#c5cbd6}
main{padding:8px 32px 40px;max-width:1400px}a{color:#1857b8}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 20px;margin:16px 0;overflow-x:auto}
h2{font-size:18px;margin:0 0 10px}h3{font-size:14px;margin:14px 0 6px;color:#3b4556}
.cards{display:flex;gap:10px}.card{flex:1 1 0;background:#f6f8fb;border:1px solid #e3e7ee;border-radius:8px;padding:8px 14px}
.card b{display:block;font-size:26px}.card span{color:#5b6577;white-space:nowrap}.card.alarm b{color:#c62828}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e7ee;padding:6px 8px;text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:120px}td.msg{min-width:300px}th{background:#eef1f6}
.sev{color:#fff;border-radius:3px;padding:1px 6px;font-weight:600}.applied{color:#c62828;font-weight:600}.dry{color:#5b6577}
pre{background:#f1f3f7;padding:10px;border-radius:6px;overflow:auto;font-size:12px;margin:4px 0 12px;max-height:420px}details{margin:6px 0}summary{cursor:pointer}
.legend{display:flex;flex-wrap:wrap;gap:18px;margin-bottom:6px;color:#3b4556}.key{display:inline-flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:22px;height:12px;border-radius:2px}.swatch.session{background:#7b8aa3}.swatch.denied{box-sizing:border-box;border:2px solid #c62828}
.swatch.revoke{width:3px;height:18px;background:#6a1b9a}.swatch.cut{background:repeating-linear-gradient(135deg,#d5dae3 0 3px,#fff 3px 6px)}
.dot{display:inline-block;width:16px;height:16px;border-radius:50%;color:#fff;font:700 10px/16px sans-serif;text-align:center}
svg text{font-size:12px;fill:#5b6577}svg .lane{fill:#fff}svg .lane.odd{fill:#f6f8fb}svg .grid{stroke:#e1e5ec}svg .date{font-weight:700;fill:#3b4556}
svg .role{font-size:13px;fill:#5b6577}svg .role.guarded{font-weight:700;fill:#1c2330}svg .note{font-size:11px;fill:#8a93a3}
svg .cut{fill:#eceff4;stroke:#c5cbd6;stroke-dasharray:3 3}svg .cutlabel{font-size:11px;font-style:italic}
svg .session{fill:#7b8aa3}svg .session.denied{fill:#fff;stroke:#c62828;stroke-width:2}
svg .finding circle{stroke:#fff;stroke-width:1.5}svg .finding text{fill:#fff;font:700 10px sans-serif}svg .finding text.many{font-size:8px}svg .axis{stroke:#8a93a3}svg .revocation{stroke:#6a1b9a;stroke-width:3}
.late{color:#c62828;font-weight:600}.verdict{font-size:20px;font-weight:700;color:#fff;margin:10px 0 0}.warn{color:#8a3b00;font-weight:600}
.card.alarm{border-width:2px}dl.coverage{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dl.coverage dt{color:#5b6577}dl.coverage dd{margin:0}
td.next{min-width:260px;max-width:400px;font-size:12px}td.when{white-space:normal;min-width:150px}tr.occurrences td{border-bottom:1px solid #e3e7ee;padding-top:0}tr.occurrences summary{color:#1857b8}a.runbook{font-weight:600}.empty,.muted{color:#5b6577}.empty{font-style:italic}`;
