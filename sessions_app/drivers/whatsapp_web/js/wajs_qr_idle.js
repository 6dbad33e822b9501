// Whether the QR went idle since the last call (it then needs WPP.conn.refreshQR()).
const queue = window.__whatsmassive;
if (!queue || !queue.qrIdle) return false;
queue.qrIdle = false;
return true;
