// The camera that reads QR codes, shared by the door scanner (door.js) and the reward counter
// (counter.js): the browser's own BarcodeDetector where there is one, else the bundled jsQR
// (served from our origin under the CSP, loaded on first use). No words here: each page says
// in its own what a refused or missing camera means.
"use strict";

const QrCamera = (() => {
  const JSQR = "/static/staff/vendor/jsqr-1.4.0.min.js";

  async function reader() {
    if ("BarcodeDetector" in window) {
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      return async (video) => { const found = await detector.detect(video); return found.length ? found[0].rawValue : ""; };
    }
    if (!window.jsQR) {
      await new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = JSQR; script.onload = resolve; script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    return async (video) => {
      if (!video.videoWidth) return "";
      const scale = Math.min(1, 640 / video.videoWidth);  // enough pixels for a phone's QR, little work per frame
      canvas.width = Math.round(video.videoWidth * scale); canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
      return found ? found.data : "";
    };
  }

  // Whether this browser offers a camera to the page at all.
  const available = () => !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);

  // The back camera into `video`; `onCode(text)` for each code read. The same code held in front
  // of the camera is one read (it may be read again after 3 s). Rejects with getUserMedia's error
  // (its name "NotAllowedError" when the person refused). Resolves to { stop }.
  async function open(video, onCode) {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    video.srcObject = stream;
    await video.play().catch(() => {});
    const read = await reader();
    let running = true;
    let last = "";
    let lastAt = 0;
    const tick = async () => {
      if (!running) return;
      const text = await read(video).catch(() => "");
      if (running && text && (text !== last || Date.now() - lastAt > 3000)) { last = text; lastAt = Date.now(); await onCode(text); }
      if (running) setTimeout(tick, 120);
    };
    tick();
    return { stop() { running = false; stream.getTracks().forEach((t) => t.stop()); } };
  }

  return { available, open };
})();
