/// The console's stylesheet and script, served by the binary itself (no CDN, nothing fetched
/// elsewhere). The script does three things: it refreshes the page's data in place every few
/// seconds (the same URL asked for its `<main>` alone), asks before destructive actions, and ticks
/// every box of a list at once.
enum Assets {
    static let css = """
        :root { --ink: #1d2433; --muted: #5b6577; --line: #d9dee7; --bg: #f6f7f9; --ok: #1a7f37; --bad: #c62828; --warn: #9a6700; --accent: #2f5bd3; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.2rem; padding: .6rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
        header .brand { font-weight: 700; color: var(--ink); text-decoration: none; }
        header nav { display: flex; flex-wrap: wrap; gap: .2rem .9rem; flex: 1; }
        header nav a { color: var(--muted); text-decoration: none; padding: .15rem 0; }
        header nav a[aria-current] { color: var(--ink); border-bottom: 2px solid var(--accent); }
        header .who { color: var(--muted); display: flex; gap: .5rem; align-items: center; }
        header .who form { display: inline; }
        .role, .tag { font-size: .75rem; padding: .05rem .4rem; border-radius: .6rem; background: #e8ecf5; color: var(--ink); }
        main { padding: 1rem; max-width: 1400px; }
        h1 { font-size: 1.35rem; margin: .2rem 0 .6rem; }
        h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
        .meta { color: var(--muted); margin: .2rem 0 .8rem; }
        .scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: top; }
        th { font-weight: 600; color: var(--muted); font-size: .85rem; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        td.error, .error { color: var(--bad); white-space: normal; max-width: 40rem; overflow-wrap: anywhere; }
        td.chart { padding: .2rem .6rem; }
        td.chart svg { display: block; }
        .ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
        .state.dead, .state.dead-letter { color: var(--bad); } .state.retry, .state.delayed { color: var(--warn); } .state.done, .state.next { color: var(--ok); }
        .empty { color: var(--muted); font-style: italic; }
        .flash { padding: .5rem .8rem; border-radius: 6px; background: #e7f3ea; margin: .8rem 1rem 0; }
        .flash.bad { background: #fdecea; color: var(--bad); }
        form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin-bottom: .6rem; }
        form.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
        input, select, button { font: inherit; }
        input, select { padding: .3rem .4rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
        button, .button { padding: .35rem .8rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
        button.link { background: none; border: none; color: var(--accent); padding: 0; }
        button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
        .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .8rem 0; }
        .actions form { display: inline; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        pre { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem; overflow-x: auto; }
        ol.history { padding-left: 1.2rem; }
        td.text { white-space: pre-wrap; color: var(--ink); }
        form.candidate { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; margin: .6rem 0; }
        form.candidate label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); margin: .3rem 0; }
        textarea { font: inherit; padding: .3rem .4rem; border: 1px solid var(--line); border-radius: 4px; }
        td.row-actions form { display: inline-block; margin-right: .3rem; }
        #upload, #try { margin-top: .8rem; }
        body.login main { max-width: 22rem; margin: 12vh auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1.4rem; }
        body.login label { display: flex; flex-direction: column; gap: .3rem; margin: .8rem 0; }
        @media (max-width: 640px) {
          body { font-size: 14px; }
          main { padding: .6rem; }
          th, td { padding: .35rem .4rem; }
          header { padding: .5rem .6rem; }
        }
        """

    static let script = """
        (function () {
          'use strict';
          function live() {
            var main = document.querySelector('main[data-live]');
            if (!main) return;
            var every = Math.max(2, parseInt(main.getAttribute('data-live'), 10) || 5) * 1000;
            setInterval(function () {
              // Never replace what the visitor is working on: a ticked box, a focused field.
              if (document.hidden || main.querySelector('input[type=checkbox]:checked') || main.contains(document.activeElement) && document.activeElement !== document.body) return;
              fetch(window.location.href, { headers: { 'X-Console-Fragment': '1' }, credentials: 'same-origin' }).then(function (response) {
                if (response.status === 401) { window.location.reload(); return null; }
                return response.ok ? response.text() : null;
              }).then(function (html) {
                if (html !== null && html !== undefined) { main.innerHTML = html; main.setAttribute('data-updated', String(Date.now())); }
              }).catch(function () {});
            }, every);
          }
          document.addEventListener('submit', function (event) {
            var form = event.target, button = event.submitter;
            var question = (button && button.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
            if (question && !window.confirm(question)) event.preventDefault();
          });
          document.addEventListener('change', function (event) {
            if (!event.target.matches('[data-select-all]')) return;
            var boxes = document.querySelectorAll('input[name=selected]');
            for (var i = 0; i < boxes.length; i++) boxes[i].checked = event.target.checked;
          });
          if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', live); else live();
        })();
        """
}
