// etcdscope UI script. Plain JavaScript written for this project, loaded from /ui/static (the
// Content-Security-Policy allows no inline script). Every page works without it: it only adds
// the theme switch, keyboard navigation and in-place expansion of the key tree.
"use strict";

(function () {
  const root = document.documentElement;

  // Theme: the system's unless the button chose one; the choice is kept in localStorage.
  const saved = localStorage.getItem("etcdscope-theme");
  if (saved === "light" || saved === "dark") root.dataset.theme = saved;
  function currentTheme() {
    if (root.dataset.theme) return root.dataset.theme;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.addEventListener("DOMContentLoaded", function () {
    const button = document.getElementById("theme");
    if (button) {
      const label = () => { button.textContent = currentTheme() === "dark" ? "Light theme" : "Dark theme"; };
      label();
      button.addEventListener("click", function () {
        const next = currentTheme() === "dark" ? "light" : "dark";
        root.dataset.theme = next;
        localStorage.setItem("etcdscope-theme", next);
        label();
      });
    }
    initTree(document);
  });

  // Keyboard: "/" focuses search; j/k move through the rows of the first data table, Enter
  // follows the selected row's first link.
  let selected = -1;
  function rows() {
    const table = document.querySelector("table.data[data-keyboard]");
    return table ? Array.from(table.tBodies[0] ? table.tBodies[0].rows : []) : [];
  }
  function select(i) {
    const all = rows();
    if (!all.length) return;
    if (selected >= 0 && all[selected]) all[selected].classList.remove("selected");
    selected = Math.max(0, Math.min(all.length - 1, i));
    all[selected].classList.add("selected");
    all[selected].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") {
      const search = document.getElementById("quick-search") || document.querySelector("input[type=search]");
      if (search) { e.preventDefault(); search.focus(); }
    } else if (e.key === "j") {
      select(selected + 1);
    } else if (e.key === "k") {
      select(selected - 1);
    } else if (e.key === "Enter" && selected >= 0 && !(t && t.closest && t.closest("a, button, summary"))) {
      const link = rows()[selected] && rows()[selected].querySelector("a[href]");
      if (link) { e.preventDefault(); link.click(); }
    }
  });

  // The key tree: a prefix's toggle fetches its children (the same page the prefix's link
  // opens, as a fragment) and shows them in place. Without script the link opens that page.
  function initTree(scope) {
    // The toggles are buttons (Enter and Space press them), hidden until script can run them.
    scope.querySelectorAll("ul.tree button.toggle[data-fragment]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { toggle(button); });
    });
  }
  function toggle(button) {
    const item = button.closest("li");
    const open = button.getAttribute("aria-expanded") === "true";
    const existing = item.querySelector(":scope > ul.tree");
    if (open) {
      button.setAttribute("aria-expanded", "false");
      if (existing) existing.hidden = true;
      return;
    }
    button.setAttribute("aria-expanded", "true");
    if (existing) { existing.hidden = false; return; }
    fetch(button.dataset.fragment, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.text(); })
      .then(function (text) {
        const doc = new DOMParser().parseFromString(text, "text/html");
        const list = doc.querySelector("ul.tree");
        if (!list) return;
        const adopted = document.importNode(list, true);
        item.appendChild(adopted);
        initTree(adopted);
      })
      .catch(function (err) {
        button.setAttribute("aria-expanded", "false");
        const note = document.createElement("span");
        note.className = "error";
        note.textContent = "could not load: " + err.message;
        item.appendChild(note);
      });
  }
})();
