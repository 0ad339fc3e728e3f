// The console's page and style sheet. They live here, compiled with the server,
// so the gateway needs no asset folder besides the compiled scripts
// (dist/console/*.js, from ./web/*.ts). No inline script or style anywhere: the
// Content-Security-Policy below allows only this origin's files.

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  // blob: for the evaluation charts — SVG fetched with the API key (an <img> cannot send
  // one) and shown through an object URL, where an SVG runs no script
  "img-src 'self' data: blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outerloop console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/app.css">
<script type="module" src="/console/app.js"></script>
</head>
<body>
<header>
  <h1>Outerloop</h1>
  <nav aria-label="Views">
    <button type="button" id="tab-chat" aria-current="true">Chat</button>
    <button type="button" id="tab-models" aria-current="false">Models</button>
    <button type="button" id="tab-gate" aria-current="false">Gate decisions</button>
    <button type="button" id="tab-loop" aria-current="false">Loop</button>
  </nav>
  <div class="key">
    <span id="key-state">No API key</span>
    <button type="button" id="set-key">Set key</button>
    <button type="button" id="forget-key" hidden>Forget key</button>
  </div>
</header>
<main>
  <section id="view-chat" aria-label="Chat">
    <div id="log" role="log" aria-live="polite" aria-label="Conversation"></div>
    <p id="status" role="status" aria-live="polite"></p>
    <form id="composer">
      <label for="prompt">Message</label>
      <textarea id="prompt" rows="3" placeholder="Ask something — Enter sends, Shift+Enter starts a new line" required></textarea>
      <div class="actions">
        <label class="check"><input type="checkbox" id="compare"> Compare two answers side by side</label>
        <button type="button" id="new-chat">New chat</button>
        <button type="submit" id="send">Send</button>
      </div>
    </form>
  </section>
  <section id="view-models" aria-label="Models" hidden>
    <h2>Models being served</h2>
    <ul id="model-list"></ul>
    <h2>Deployment and versions</h2>
    <div id="deployment" aria-live="polite"></div>
  </section>
  <section id="view-gate" aria-labelledby="gate-title" hidden>
    <div class="view-head">
      <h2 id="gate-title">Gate decisions</h2>
      <button type="button" id="gate-refresh">Refresh</button>
    </div>
    <p class="meta">Each evaluation of a candidate: the configured gate's verdict beside the naive gate's, every rule's value against its threshold. Needs a key with the admin scope.</p>
    <div id="gate-list" aria-live="polite"></div>
  </section>
  <section id="view-loop" aria-labelledby="loop-title" hidden>
    <div class="view-head">
      <h2 id="loop-title">Loop iterations</h2>
      <div class="actions" id="loop-actions">
        <button type="button" id="loop-pause">Pause</button>
        <button type="button" id="loop-resume">Resume</button>
        <button type="button" id="loop-trigger">Start an iteration</button>
        <button type="button" id="loop-refresh">Refresh</button>
      </div>
    </div>
    <div id="loop-list" aria-live="polite"></div>
  </section>
</main>
<dialog id="key-dialog" aria-labelledby="key-title">
  <form id="key-form">
    <h2 id="key-title">API key</h2>
    <p id="key-reason"></p>
    <label for="key-input">Key (kept for this browser tab only)</label>
    <input id="key-input" type="password" autocomplete="off" spellcheck="false">
    <div class="actions">
      <button type="button" id="key-cancel">Cancel</button>
      <button type="submit">Save</button>
    </div>
  </form>
</dialog>
<dialog id="confirm-dialog" aria-labelledby="confirm-title">
  <form id="confirm-form">
    <h2 id="confirm-title">Confirm</h2>
    <p id="confirm-text"></p>
    <div id="confirm-reason-field" hidden>
      <label for="confirm-reason">Reason</label>
      <input id="confirm-reason" type="text" autocomplete="off">
    </div>
    <p id="confirm-error" class="error" role="alert"></p>
    <div class="actions">
      <button type="button" id="confirm-cancel">Cancel</button>
      <button type="submit" id="confirm-ok">Confirm</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;

// Contrast: text #1b1f24 on #ffffff (16:1), muted #4a5563 on #ffffff (7.5:1), accent
// #0b57d0 on #ffffff (6.4:1) — all above WCAG AA's 4.5:1.
export const CONSOLE_CSS = `*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#fff}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.5rem 1rem;border-bottom:1px solid #d0d7de}
h1{font-size:1.1rem;margin:0}
nav{display:flex;gap:.25rem}
nav button[aria-current=true]{background:#0b57d0;color:#fff;border-color:#0b57d0}
.key{margin-left:auto;display:flex;gap:.5rem;align-items:center;color:#4a5563;font-size:.9rem}
main{max-width:72rem;margin:0 auto;padding:1rem}
button{font:inherit;padding:.35rem .75rem;border:1px solid #8c959f;border-radius:.4rem;background:#f6f8fa;color:#1b1f24;cursor:pointer;min-height:2.25rem}
button:hover{background:#eaeef2}
button[aria-pressed=true]{background:#0b57d0;color:#fff;border-color:#0b57d0}
button:disabled{opacity:.6;cursor:default}
button.link{border:none;background:none;color:#0b57d0;text-decoration:underline;padding:0;min-height:0}
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
textarea,input[type=password],input[type=text]{width:100%;font:inherit;padding:.5rem;border:1px solid #8c959f;border-radius:.4rem}
label{font-weight:600}
label.check{font-weight:400}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:flex-end;margin-top:.5rem}
.actions .check{margin-right:auto}
#log{display:flex;flex-direction:column;gap:.75rem;margin-bottom:1rem}
.message{padding:.75rem 1rem;border-radius:.6rem;border:1px solid #d0d7de}
.message.user{background:#f6f8fa;align-self:flex-end;max-width:85%}
.message.assistant{background:#fff}
.message h3{margin:0 0 .25rem;font-size:.95rem}
.message .text{white-space:pre-wrap;overflow-wrap:anywhere}
.message.interrupted .text::after{content:" [interrupted]";color:#a40e26}
.meta{margin:.25rem 0 0;font-size:.8rem;color:#4a5563}
.turn.compare{display:grid;grid-template-columns:1fr 1fr;gap:.75rem}
.turn.compare .vote-bar,.turn.compare .error{grid-column:1 / -1}
.feedback,.vote{display:flex;flex-wrap:wrap;gap:.35rem;align-items:center;margin-top:.5rem}
.rating{display:inline-flex;gap:.2rem}
.rating button{min-width:2.25rem}
.edit{margin-top:.5rem}
.feedback-status{margin:.25rem 0 0;font-size:.85rem;color:#4a5563}
.feedback-status[data-state=failed],.error{color:#a40e26}
.vote-bar p{margin:.25rem 0}
.view-head{display:flex;gap:1rem;align-items:center;justify-content:space-between}
.view-head h2{margin:.5rem 0}
.actions.start{justify-content:flex-start}
.decision{border:1px solid #d0d7de;border-radius:.6rem;padding:.75rem 1rem;margin-bottom:1rem}
.decision h3{margin:0;font-size:1rem;overflow-wrap:anywhere}
.decision .meta{overflow-wrap:anywhere}
.verdicts{margin:.5rem 0}
.verdict{display:inline-block;padding:0 .45rem;border-radius:.3rem;font-weight:600;font-size:.85rem;border:1px solid}
.verdict.pass{color:#116329;background:#dafbe1;border-color:#116329}
.verdict.fail{color:#a40e26;background:#ffebe9;border-color:#a40e26}
.verdict.needs_review,.verdict.missing{color:#6c4400;background:#fff8c5;border-color:#6c4400}
.verdict.not_applicable,.verdict.skip{color:#4a5563;background:#f6f8fa;border-color:#4a5563}
.gates{display:grid;gap:1rem}
.table-wrap{overflow-x:auto}
table.rules{border-collapse:collapse;width:100%;font-size:.85rem}
table.rules caption{text-align:left;font-weight:600;padding:.25rem 0}
table.rules th,table.rules td{border-bottom:1px solid #d0d7de;padding:.25rem .4rem;text-align:left;vertical-align:top}
table.rules td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
table.rules code{overflow-wrap:break-word}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:.75rem;margin:.75rem 0;align-items:start}
.charts figure{margin:0}
.charts img{width:100%;height:auto;border:1px solid #d0d7de;border-radius:.4rem;background:#fff}
.charts figcaption{font-size:.85rem;color:#4a5563}
pre.report{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8rem;background:#f6f8fa;padding:.75rem;border-radius:.4rem;max-height:30rem;overflow:auto}
summary{cursor:pointer}
.deployment{display:grid;gap:.25rem;margin:0 0 1rem}
.dep-row{display:grid;grid-template-columns:6.5rem 1fr;gap:.5rem}
.dep-row dt{font-weight:600}
.dep-row dd{margin:0;overflow-wrap:anywhere}
.status{font-size:.85rem;font-weight:600}
.status.production{color:#116329}
.status.canary{color:#0b57d0}
.status.rejected{color:#a40e26}
.status.retired,.status.candidate{color:#4a5563}
.timeline{list-style:none;padding:0;margin:.5rem 0;font-size:.9rem}
.timeline li{padding:.1rem 0}
.state{display:inline-block;padding:0 .4rem;border-radius:.3rem;font-size:.85rem;font-weight:600;background:#f6f8fa;border:1px solid #8c959f;color:#1b1f24}
.state.promoted{color:#116329;border-color:#116329;background:#dafbe1}
.state.rejected,.state.failed,.state.rolled_back{color:#a40e26;border-color:#a40e26;background:#ffebe9}
.state.paused{color:#6c4400;border-color:#6c4400;background:#fff8c5}
dialog{border:1px solid #8c959f;border-radius:.6rem;max-width:28rem;width:calc(100% - 2rem)}
@media (max-width:40rem){table.rules thead{position:absolute;left:-9999px}table.rules tr{display:block;border-bottom:1px solid #d0d7de;padding:.25rem 0}table.rules th[scope=row],table.rules td{display:block;border:none;padding:.1rem .25rem}table.rules td.num{white-space:normal}table.rules td::before{content:attr(data-label) ": ";font-weight:600}.turn.compare{grid-template-columns:1fr}.message.user{max-width:100%}main{padding:.5rem}}
`;
