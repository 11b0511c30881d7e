// Service worker of the cashback extension (an example): subscribes to Web Push with Banso's VAPID public
// key, and shows the notifications a push campaign sends. The payload (decrypted by the browser, aes128gcm)
// is the JSON {title, body, url, icon}; `url` is the tracked click link (/campaigns/c/<token>), which records
// the click and redirects to the offer's page.
//
// The extension's backend forwards the subscription to Banso:
//   POST /api/campaigns/push/subscriptions {"end_user": "<the user's id>", "subscription": sub.toJSON()}
// and the public key comes from GET /api/campaigns/push/vapid-public-key (through that backend).

function urlBase64ToUint8Array(base64) {
  const padding = "=".repeat((4 - (base64.length % 4)) % 4);
  const raw = atob((base64 + padding).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from([...raw].map((c) => c.charCodeAt(0)));
}

async function subscribe(vapidPublicKey) {
  const existing = await self.registration.pushManager.getSubscription();
  if (existing) return existing.toJSON();
  const subscription = await self.registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: urlBase64ToUint8Array(vapidPublicKey),
  });
  return subscription.toJSON();
}

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "subscribe") {
    event.waitUntil(
      subscribe(event.data.vapidPublicKey).then((subscription) =>
        event.source.postMessage({ type: "subscribed", subscription }),
      ),
    );
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { title: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "", {
      body: data.body || "",
      icon: data.icon,
      data: { url: data.url },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = event.notification.data && event.notification.data.url;
  if (url) event.waitUntil(self.clients.openWindow(url));
});
