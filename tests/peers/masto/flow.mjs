// masto.js against cara-fed: register apps, log in (password grant), post with media, edit, page the home
// timeline through Link headers, look up and follow an account on another cara-fed server, read notifications,
// like, read a thread, search, revoke. Reads its config as JSON on stdin; prints one JSON line with what it saw.
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";

const config = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));
const OOB = "urn:ietf:wg:oauth:2.0:oob";
const SCOPES = "read write follow";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check, what, within = 60000) {
  const deadline = Date.now() + within;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${within} ms (last: ${JSON.stringify(last)})`);
}

async function logIn(url, username, password) {
  const app = await createRestAPIClient({ url }).v1.apps.create({
    clientName: "masto.js flow", redirectUris: OOB, scopes: SCOPES, website: "https://example.org/masto-flow",
  });
  const oauth = createOAuthAPIClient({ url });
  const token = await oauth.token.create({
    grantType: "password", clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: OOB,
    username, password, scope: SCOPES,
  });
  if (token.scope !== SCOPES) throw new Error(`token scope ${token.scope}`);
  return { app, oauth, token, masto: createRestAPIClient({ url, accessToken: token.accessToken }) };
}

const summary = { ok: false };
try {
  const carol = await logIn(config.a, config.aUser, config.aPassword);
  const bob = await logIn(config.b, config.bUser, config.bPassword);
  summary.version = (await carol.masto.v2.instance.fetch()).version;
  const me = await carol.masto.v1.accounts.verifyCredentials();
  if (me.username !== config.aUser) throw new Error(`verify_credentials: ${me.username}`);

  // Media: masto waits for processing by polling GET /api/v1/media/:id until `url` is set.
  const image = new Blob([Buffer.from(config.image, "hex")], { type: "image/jpeg" });
  const media = await carol.masto.v2.media.create({ file: image, description: "A red square on blue" });
  summary.mediaUrl = media.url;
  const first = await carol.masto.v1.statuses.create({
    status: "Red study\nFirst of two.", mediaIds: [media.id], cara: { field: "Illustration", noai: true },
  });
  const media2 = await carol.masto.v2.media.create({ file: image, description: "The same square, again" });
  const second = await carol.masto.v1.statuses.create({ status: "Red study II", mediaIds: [media2.id] });
  const edited = await carol.masto.v1.statuses.$select(second.id).update({ status: "Red study II (revised)" });
  if (!edited.content.includes("revised")) throw new Error("edit did not take");
  if (first.cara.field !== "Illustration") throw new Error("cara extension fields were not stored");

  // The home timeline, one status a page, following the Link header (rel="next").
  await waitFor(async () => (await carol.masto.v1.timelines.home.list({ limit: 5 })).length >= 2,
    "both works in the home timeline");
  summary.pagedIds = [];
  summary.pages = 0;
  for await (const page of carol.masto.v1.timelines.home.list({ limit: 1 })) {
    if (page.length === 0 || summary.pages >= 3) break;
    summary.pages += 1;
    summary.pagedIds.push(...page.map((s) => s.id));
  }

  // Bob, on B, looks Carol up by handle and follows her.
  const handle = `${config.aUser}@${new URL(config.a).host}`;
  const there = await bob.masto.v1.accounts.lookup({ acct: handle });
  await bob.masto.v1.accounts.$select(there.id).follow();
  summary.followed = await waitFor(async () => (await bob.masto.v1.accounts.relationships.fetch({ id: [there.id] }))[0]
    .following, "A accepting Bob's follow");

  // Carol listens on the streaming API (the URL the instance document gives) while Bob likes her next work.
  const instance = await carol.masto.v2.instance.fetch();
  const streaming = createStreamingAPIClient({ streamingApiUrl: instance.configuration.urls.streaming,
    accessToken: carol.token.accessToken, retry: 3 });
  const subscription = streaming.user.notification.subscribe();
  const streamed = (async () => {
    for await (const event of subscription) {
      if (event.event === "notification") return event.payload.type;
    }
    return null;
  })();

  // A new work reaches Bob; he likes it; Carol is notified.
  const media3 = await carol.masto.v2.media.create({ file: image, description: "Third square" });
  const third = await carol.masto.v1.statuses.create({ status: "Red study III", mediaIds: [media3.id] });
  const remote = await waitFor(async () => (await bob.masto.v1.timelines.home.list()).find(
    (s) => s.content.includes("Red study III")), "the third work reaching B");
  await bob.masto.v1.statuses.$select(remote.id).favourite();
  const notifications = await waitFor(async () => {
    const found = await carol.masto.v1.notifications.list();
    const types = new Set(found.map((n) => n.type));
    return types.has("follow") && types.has("favourite") ? found : null;
  }, "follow and favourite notifications for Carol");
  summary.notificationTypes = [...new Set(notifications.map((n) => n.type))].sort();
  summary.streamed = await Promise.race([streamed, sleep(30000).then(() => "timeout")]);
  subscription.unsubscribe();
  streaming.close();
  const context = await carol.masto.v1.statuses.$select(third.id).context.fetch();
  if (!Array.isArray(context.ancestors) || !Array.isArray(context.descendants)) throw new Error("context shape");

  // Search across servers, then sign out.
  const search = await carol.masto.v2.search.list({ q: `${config.bUser}@${new URL(config.b).host}`, resolve: true });
  summary.searchAccounts = search.accounts.map((a) => a.acct);
  await carol.oauth.revoke({ clientId: carol.app.clientId, clientSecret: carol.app.clientSecret,
    token: carol.token.accessToken });
  try {
    await carol.masto.v1.accounts.verifyCredentials();
    summary.revoked = 200;
  } catch (error) {
    summary.revoked = error.statusCode;
  }
  summary.ok = true;
} catch (error) {
  summary.error = `${error?.constructor?.name}: ${error?.message} ${error?.statusCode ?? ""}`;
}
console.log(JSON.stringify(summary));
