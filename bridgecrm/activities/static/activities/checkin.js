// Visit check-in: fill latitude/longitude (and the time) from the browser's position.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-checkin-locate]");
  if (!button || !navigator.geolocation) return;
  const form = button.closest("form");
  navigator.geolocation.getCurrentPosition((pos) => {
    const set = (name, value) => { const el = form.querySelector(`[name="${name}"]`); if (el) el.value = value; };
    set("checkin_latitude", pos.coords.latitude.toFixed(6));
    set("checkin_longitude", pos.coords.longitude.toFixed(6));
    const now = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    set("checkin_at", `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}`);
    set("kind", "visit");
  });
});
