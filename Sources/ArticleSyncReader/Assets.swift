/// The page's only style sheet and script, served from the reader itself: it works offline and
/// the Content-Security-Policy can forbid everything else (no inline script, no other origin).
enum Assets {
    static let css = """
        :root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fdfcf8; --muted: #6b6b6b; --accent: #9b2c2c; --rule: #e4e1d8; --mark: #fff1a8; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e8e6e1; --bg: #1b1b1d; --muted: #a09d96; --accent: #f08a7e; --rule: #34332f; --mark: #5c4d00; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--fg);
          font: 18px/1.6 Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif; }
        a { color: inherit; text-decoration-color: var(--rule); text-underline-offset: 0.15em; }
        a:hover, a:focus { color: var(--accent); }
        header { display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap;
          padding: 0.75rem 1.25rem; border-bottom: 1px solid var(--rule);
          font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 0.9rem; }
        header .home { font-weight: 700; text-decoration: none; letter-spacing: 0.02em; }
        header form { flex: 1; max-width: 32rem; }
        input, select, button { font: inherit; color: inherit; background: transparent; border: 1px solid var(--rule);
          border-radius: 4px; padding: 0.3rem 0.5rem; }
        header input[type=search] { width: 100%; }
        .layout { display: grid; grid-template-columns: 15rem minmax(0, 1fr); gap: 2rem; max-width: 72rem; margin: 0 auto; padding: 1.5rem 1.25rem; }
        @media (max-width: 50rem) { .layout { grid-template-columns: 1fr; } nav.categories { order: 2; } }
        nav.categories { font-family: system-ui, sans-serif; font-size: 0.85rem; }
        nav.categories ul { list-style: none; margin: 0; padding: 0; }
        nav.categories li { display: flex; justify-content: space-between; gap: 0.5rem; padding: 0.15rem 0; }
        nav.categories .count, .meta { color: var(--muted); font-variant-numeric: tabular-nums; }
        nav.categories a[aria-current] { color: var(--accent); font-weight: 600; }
        h1 { font-size: 1.9rem; line-height: 1.2; margin: 0.25rem 0 1rem; hyphens: auto; }
        h2 { font: 600 0.8rem/1.4 system-ui, sans-serif; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin: 0 0 0.5rem; }
        .filters { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; margin-bottom: 1rem;
          font-family: system-ui, sans-serif; font-size: 0.85rem; }
        .filters label { display: flex; flex-direction: column; gap: 0.15rem; color: var(--muted); }
        ol.articles { list-style: none; margin: 0; padding: 0; }
        ol.articles li { padding: 0.6rem 0.5rem; border-bottom: 1px solid var(--rule); border-left: 3px solid transparent; }
        ol.articles li.selected { border-left-color: var(--accent); background: color-mix(in srgb, var(--rule) 35%, transparent); }
        ol.articles .title { font-weight: 600; text-decoration: none; hyphens: auto; }
        ol.articles .meta, article .meta { font: 0.8rem/1.4 system-ui, sans-serif; }
        ol.articles .snippet { margin: 0.25rem 0 0; font-size: 0.95rem; }
        mark { background: var(--mark); color: inherit; padding: 0 0.1em; border-radius: 2px; }
        .new { font: 700 0.7rem/1 system-ui, sans-serif; text-transform: uppercase; letter-spacing: 0.05em;
          color: var(--bg); background: var(--accent); padding: 0.15rem 0.35rem; border-radius: 3px; margin-left: 0.4rem; vertical-align: 0.15em; }
        article { max-width: 38rem; }
        article p { margin: 0 0 1em; hyphens: auto; text-align: left; overflow-wrap: break-word; }
        article p.lead { font-size: 1.05em; }
        nav.pager { display: flex; justify-content: space-between; gap: 1rem; margin: 2rem 0; max-width: 38rem;
          font: 0.85rem/1.4 system-ui, sans-serif; }
        nav.pager a { max-width: 48%; }
        .more { margin: 1rem 0; font-family: system-ui, sans-serif; font-size: 0.9rem; }
        .empty, .hint { color: var(--muted); font-family: system-ui, sans-serif; font-size: 0.9rem; }
        kbd { font: 0.8em ui-monospace, monospace; border: 1px solid var(--rule); border-radius: 3px; padding: 0 0.25em; }
        """

    /// Keyboard navigation. j/k or ←/→ move through the list (Enter opens) and from article to
    /// article; / goes to the search field; Esc leaves it. Links carry the targets (rel=next/prev),
    /// so without the script every page still works.
    static let javascript = """
        "use strict";
        (function () {
          var items = Array.prototype.slice.call(document.querySelectorAll("ol.articles li"));
          var index = -1;
          function select(i) {
            if (!items.length) return;
            index = Math.max(0, Math.min(items.length - 1, i));
            items.forEach(function (li, n) { li.classList.toggle("selected", n === index); });
            items[index].scrollIntoView({ block: "nearest" });
          }
          function follow(rel) {
            var link = document.querySelector('a[rel="' + rel + '"]');
            if (link) window.location.href = link.href;
          }
          document.addEventListener("keydown", function (event) {
            var target = event.target;
            if (event.metaKey || event.ctrlKey || event.altKey) return;
            if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) {
              if (event.key === "Escape") target.blur();
              return;
            }
            var key = event.key;
            if (key === "/") {
              var search = document.querySelector("input[type=search]");
              if (search) { event.preventDefault(); search.focus(); search.select(); }
            } else if (items.length && (key === "j" || key === "ArrowDown")) {
              event.preventDefault(); select(index + 1);
            } else if (items.length && (key === "k" || key === "ArrowUp")) {
              event.preventDefault(); select(index - 1);
            } else if (items.length && key === "Enter" && index >= 0) {
              var link = items[index].querySelector("a.title");
              if (link) window.location.href = link.href;
            } else if (key === "j" || key === "ArrowRight" || key === "n") {
              follow("next");
            } else if (key === "k" || key === "ArrowLeft" || key === "p") {
              follow("prev");
            }
          });
        })();
        """
}
