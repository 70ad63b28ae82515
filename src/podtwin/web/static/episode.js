// A deep link to a sentence inside a folded segment (an intro, a sponsor read) opens it first.
function showTarget() {
  const id = decodeURIComponent(location.hash.slice(1));
  const el = id && document.getElementById(id);
  if (!el) return;
  const folded = el.closest("details");
  if (folded) folded.open = true;
  el.scrollIntoView({ block: "center" });
}
window.addEventListener("hashchange", showTarget);
showTarget();
