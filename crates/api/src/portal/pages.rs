//! The portal's pages and form handlers.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use hookwire_dispatch::model::{Attempt, Delivery, DeliveryFilter, DeliveryState, EndpointStatus};
use hookwire_dispatch::{DispatchError, EndpointInfo, EndpointUpdate, NewEndpoint};
use hookwire_events::Family;
use http::request::Parts;
use http::{StatusCode, header};

use super::html::{Frame, button_form, csrf_field, esc, state_badge, status_badge, time};
use super::{Ctx, Form, Portal, html_response, see_other};
use crate::flavour::now_millis;

/// Rows in the delivery tables.
const ROWS: usize = 25;

fn render(
    p: &Portal,
    ctx: &Ctx,
    status: StatusCode,
    title: &str,
    body: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let csrf = ctx.csrf(p);
    let frame = Frame {
        base: &ctx.base,
        title,
        tenant: ctx.tenant.as_deref(),
        signout: ctx.has_session(),
        csrf: &csrf,
        notice,
        error,
    };
    ctx.finish(p, html_response(status, frame.render(body)))
}

fn failure(p: &Portal, ctx: &Ctx, e: &DispatchError) -> Response {
    tracing::error!(error = %e, "portal: store failure");
    render(
        p,
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        "<div class=\"card\"><h1>Something went wrong</h1>\
         <p class=\"sub\">The store did not answer. Try again in a moment.</p></div>",
        None,
        None,
    )
}

fn not_found(p: &Portal, ctx: &Ctx) -> Response {
    let body = format!(
        "<div class=\"card\"><h1>Not found</h1><p class=\"sub\">There is nothing here.</p>\
         <a class=\"btn\" href=\"{}\">Back to endpoints</a></div>",
        esc(&ctx.home())
    );
    render(
        p,
        ctx,
        StatusCode::NOT_FOUND,
        "Not found",
        &body,
        None,
        None,
    )
}

/// The signed-in tenant of a page request, or a redirect to the sign-in page.
async fn page_ctx(p: &Portal, parts: &Parts) -> Result<(Ctx, String), Response> {
    let ctx = Ctx::new(p, parts).await?;
    match ctx.tenant.clone() {
        Some(t) => Ok((ctx, t)),
        None => {
            let res = see_other(&format!("{}/login", ctx.base));
            Err(ctx.finish(p, res))
        }
    }
}

/// The tenant and form of a genuine POST; a forged or expired one gets 403.
async fn post_ctx(
    p: &Portal,
    parts: &Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Ctx, String, Form), Response> {
    let ctx = Ctx::new(p, parts).await?;
    let form = Form::parse(body)?;
    if !ctx.check_post(p, parts, &form) {
        return Err(forbidden(p, &ctx));
    }
    match ctx.tenant.clone() {
        Some(t) => Ok((ctx, t, form)),
        None => Err(see_other(&format!("{}/login", ctx.base))),
    }
}

fn forbidden(p: &Portal, ctx: &Ctx) -> Response {
    let body = format!(
        "<div class=\"card\"><h1>This form has expired</h1>\
         <p class=\"sub\">It was sent from another site or an old page, so nothing was changed.</p>\
         <a class=\"btn\" href=\"{}\">Reload the portal</a></div>",
        esc(&ctx.home())
    );
    render(p, ctx, StatusCode::FORBIDDEN, "Refused", &body, None, None)
}

/// The endpoint, if it is the tenant's; another tenant's answers exactly like a missing one.
async fn owned(p: &Portal, ctx: &Ctx, tenant: &str, id: &str) -> Result<EndpointInfo, Response> {
    match p.api.dispatcher().get_endpoint(id).await {
        Ok(Some(info)) if info.endpoint.tenant == tenant => Ok(info),
        Ok(_) => Err(not_found(p, ctx)),
        Err(e) => Err(failure(p, ctx, &e)),
    }
}

/// The delivery and its endpoint, if the endpoint is the tenant's.
async fn owned_delivery(
    p: &Portal,
    ctx: &Ctx,
    tenant: &str,
    id: &str,
) -> Result<(Delivery, EndpointInfo), Response> {
    let d = match p.api.dispatcher().delivery(id).await {
        Ok(Some(d)) => d,
        Ok(None) => return Err(not_found(p, ctx)),
        Err(e) => return Err(failure(p, ctx, &e)),
    };
    let ep = owned(p, ctx, tenant, &d.endpoint_id).await?;
    Ok((d, ep))
}

/// The fixed notices a redirect can name (`?notice=`); nothing from the query is echoed.
fn notice(parts: &Parts) -> Option<String> {
    let q = crate::flavour::query(parts);
    let text = match q.get("notice").map(String::as_str)? {
        "test" => "Test event queued. It appears below once it is sent.".to_owned(),
        "disabled" => "Endpoint disabled: nothing is sent to it until you enable it.".to_owned(),
        "enabled" => "Endpoint enabled.".to_owned(),
        "types" => "Event types saved.".to_owned(),
        "redelivered" => "Delivery queued again.".to_owned(),
        "recovered" => {
            let n: u64 = q.get("n").and_then(|n| n.parse().ok()).unwrap_or(0);
            match n {
                0 => "No failed deliveries in that period.".to_owned(),
                1 => "1 failed delivery queued again.".to_owned(),
                n => format!("{n} failed deliveries queued again."),
            }
        }
        "signedout" => "Signed out.".to_owned(),
        _ => return None,
    };
    Some(text)
}

// ---- sign in ------------------------------------------------------------------------------

fn login_page(p: &Portal, ctx: &Ctx, notice: Option<&str>, error: Option<&str>) -> Response {
    let csrf = ctx.csrf(p);
    let body = format!(
        "<div class=\"card login\"><h1>Sign in</h1>\
         <p class=\"sub\">Paste the API token you were given. It is checked once and not stored; \
         the portal keeps a signed session cookie instead.</p>\
         <form method=\"post\" action=\"{base}/login\">{csrf}\
         <label for=\"token\">API token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required>\
         <div class=\"actions\"><button class=\"btn primary\" id=\"signin\" type=\"submit\">Sign in</button></div>\
         </form></div>",
        base = esc(&ctx.base),
        csrf = csrf_field(&csrf),
    );
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let frame = Frame {
        base: &ctx.base,
        title: "Sign in",
        tenant: None,
        signout: false,
        csrf: &csrf,
        notice,
        error,
    };
    ctx.finish(p, html_response(status, frame.render(&body)))
}

pub(super) async fn login_form(State(p): State<Portal>, parts: Parts) -> Response {
    let ctx = match Ctx::new(&p, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.tenant.is_some() {
        return ctx.finish(&p, see_other(&ctx.home()));
    }
    login_page(&p, &ctx, notice(&parts).as_deref(), None)
}

pub(super) async fn login(
    State(p): State<Portal>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut ctx = match Ctx::new(&p, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let form = match Form::parse(body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    // The sign-in form's token is bound to "no tenant yet".
    ctx.tenant = None;
    if !ctx.check_post(&p, &parts, &form) {
        return forbidden(&p, &ctx);
    }
    let token = form.get("token").trim();
    let tenant = if token.is_empty() || token.contains(['\r', '\n']) {
        None
    } else {
        let mut probe = http::Request::builder().uri(parts.uri.clone());
        probe = probe.header(header::AUTHORIZATION, format!("Bearer {token}"));
        match probe.body(()) {
            Ok(req) => {
                let (probe_parts, ()) = req.into_parts();
                crate::flavour::tenant_of(&p.api, &probe_parts).await.ok()
            }
            Err(_) => None,
        }
    };
    match tenant {
        Some(t) => {
            let mut res = see_other(&ctx.home());
            if let Some(c) = ctx.session_cookie(&p, Some(&t)) {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            tracing::info!(tenant = %t, "portal: signed in");
            ctx.finish(&p, res)
        }
        None => login_page(&p, &ctx, None, Some("That token was not accepted.")),
    }
}

pub(super) async fn logout(
    State(p): State<Portal>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (ctx, _, _) = match post_ctx(&p, &parts, body).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut res = see_other(&format!("{}/login?notice=signedout", ctx.base));
    if let Some(c) = ctx.session_cookie(&p, None) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

// ---- endpoints ----------------------------------------------------------------------------

fn status_of(info: &EndpointInfo) -> String {
    match &info.endpoint.status {
        EndpointStatus::Disabled { reason, .. } => format!(
            "<span class=\"badge bad\" title=\"{}\">Disabled</span>",
            esc(reason)
        ),
        _ if info.endpoint.is_enabled() => "<span class=\"badge ok\">Enabled</span>".to_owned(),
        _ => "<span class=\"badge off\">Paused</span>".to_owned(),
    }
}

fn chips(types: &[String]) -> String {
    types
        .iter()
        .map(|t| {
            if t == "*" {
                "<span class=\"chip\">all events</span>".to_owned()
            } else {
                format!("<span class=\"chip\">{}</span>", esc(t))
            }
        })
        .collect()
}

/// The newest deliveries of these endpoints, newest first, at most `limit`.
async fn recent(
    p: &Portal,
    endpoints: &[&EndpointInfo],
    state: Option<DeliveryState>,
    limit: usize,
) -> Result<Vec<Delivery>, DispatchError> {
    let mut all = Vec::new();
    for ep in endpoints {
        let filter = DeliveryFilter {
            endpoint_id: Some(ep.endpoint.id.clone()),
            state,
            limit: Some(limit),
            ..DeliveryFilter::default()
        };
        all.extend(p.api.dispatcher().deliveries(&filter).await?);
    }
    all.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.seq)));
    all.truncate(limit);
    Ok(all)
}

/// The deliveries table (with each message's event type and a redeliver button).
async fn deliveries_table(
    p: &Portal,
    ctx: &Ctx,
    rows: &[Delivery],
    endpoints: &[&EndpointInfo],
    now: i64,
) -> Result<String, DispatchError> {
    if rows.is_empty() {
        return Ok(
            "<div class=\"empty\">No deliveries yet. Send a test event to see one here.</div>"
                .to_owned(),
        );
    }
    let csrf = ctx.csrf(p);
    let base = esc(&ctx.base);
    let mut out = String::from(
        "<table class=\"deliveries\"><thead><tr><th>State</th><th>Event</th><th>Endpoint</th>\
         <th>Attempts</th><th>Last result</th><th>Created</th><th></th></tr></thead><tbody>",
    );
    for d in rows {
        let event = p
            .api
            .dispatcher()
            .message(&d.message_id)
            .await?
            .map(|m| m.event_type)
            .unwrap_or_default();
        let url = endpoints
            .iter()
            .find(|e| e.endpoint.id == d.endpoint_id)
            .map(|e| e.endpoint.url.as_str())
            .unwrap_or("");
        let next = if d.state == DeliveryState::Pending && d.attempts > 0 {
            format!(
                " <span class=\"muted\">· retry {}</span>",
                time(d.next_attempt_at, now)
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr data-delivery=\"{id}\"><td>{state}{next}</td><td><code>{event}</code></td>\
             <td><span class=\"url\">{url}</span></td><td>{attempts}</td><td class=\"muted\">{last}</td>\
             <td>{created}</td><td><a href=\"{base}/deliveries/{id}\">Details</a> {redeliver}</td></tr>",
            id = esc(&d.id),
            state = state_badge(d.state),
            event = esc(&event),
            url = esc(url),
            attempts = d.attempts,
            last = d.last_error.as_deref().map_or_else(|| "—".to_owned(), esc),
            created = time(d.created_at, now),
            redeliver = if matches!(d.state, DeliveryState::Delivered | DeliveryState::Failed) {
                button_form(
                    &format!("{}/deliveries/{}/redeliver", ctx.base, d.id),
                    &csrf,
                    "Redeliver",
                    "small",
                )
            } else {
                String::new()
            },
        );
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

fn family_options(selected: Family) -> String {
    Family::ALL
        .iter()
        .map(|f| {
            format!(
                "<option value=\"{n}\"{s}>{label}</option>",
                n = f.name(),
                s = if *f == selected { " selected" } else { "" },
                label = family_label(*f),
            )
        })
        .collect()
}

fn family_label(f: Family) -> &'static str {
    match f {
        Family::ZeroTier => "ZeroTier Central",
        Family::Zta => "Zero Trust Analytics",
        Family::HubMessage => "Hub Message / Z-API",
        Family::Zitadel => "ZITADEL Actions",
        Family::Zentitle => "Zentitle2",
        Family::StandardWebhooks => "Standard Webhooks",
    }
}

pub(super) async fn endpoints(State(p): State<Portal>, parts: Parts) -> Response {
    let (ctx, tenant) = match page_ctx(&p, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    endpoints_page(
        &p,
        &ctx,
        &tenant,
        notice(&parts).as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn endpoints_page(
    p: &Portal,
    ctx: &Ctx,
    tenant: &str,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let eps = match p.api.dispatcher().list_endpoints(tenant).await {
        Ok(e) => e,
        Err(e) => return failure(p, ctx, &e),
    };
    let now = now_millis();
    let base = esc(&ctx.base);
    let csrf = ctx.csrf(p);
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"title-row\"><div><h1>Endpoints</h1>\
         <p class=\"sub\">Where your webhooks go. {} configured.</p></div></div>\
         <div class=\"grid\"><div class=\"card\">",
        eps.len()
    );
    if eps.is_empty() {
        body.push_str(
            "<div class=\"empty\">No endpoints yet. Add one to start receiving webhooks.</div>",
        );
    } else {
        body.push_str(
            "<table class=\"endpoints\"><thead><tr><th>URL</th><th>Events</th><th>Status</th>\
             <th>Last attempt</th><th>Created</th></tr></thead><tbody>",
        );
        for info in &eps {
            let ep = &info.endpoint;
            let _ = write!(
                body,
                "<tr data-endpoint=\"{id}\"><td><a class=\"url\" href=\"{base}/endpoints/{id}\">{url}</a>\
                 <div class=\"muted\">{family}</div></td><td>{types}</td><td>{status}</td>\
                 <td>{last}</td><td>{created}</td></tr>",
                id = esc(&ep.id),
                url = esc(&ep.url),
                family = family_label(ep.family),
                types = chips(&ep.event_types),
                status = status_of(info),
                last = ep.last_triggered_at.map_or_else(
                    || "<span class=\"muted\">never</span>".to_owned(),
                    |t| time(t, now)
                ),
                created = time(ep.created_at, now),
            );
        }
        body.push_str("</tbody></table>");
    }
    let _ = write!(
        body,
        "</div><div class=\"card\"><h2>Add an endpoint</h2>\
         <form method=\"post\" action=\"{base}/endpoints\">{csrf}\
         <label for=\"url\">URL</label><input id=\"url\" name=\"url\" type=\"url\" \
         placeholder=\"https://example.com/webhooks\" required>\
         <label for=\"family\">Format</label><select id=\"family\" name=\"family\">{families}</select>\
         <label for=\"event_types\">Event types</label>\
         <input id=\"event_types\" name=\"event_types\" type=\"text\" placeholder=\"all events\">\
         <div class=\"hint\">Comma-separated; leave empty for every event.</div>\
         <label for=\"description\">Description</label>\
         <input id=\"description\" name=\"description\" type=\"text\" placeholder=\"optional\">\
         <div class=\"actions\"><button class=\"btn primary\" id=\"create\" type=\"submit\">Add endpoint</button></div>\
         </form></div></div>",
        csrf = csrf_field(&csrf),
        families = family_options(Family::StandardWebhooks),
    );
    let refs: Vec<&EndpointInfo> = eps.iter().collect();
    let rows = match recent(p, &refs, None, ROWS).await {
        Ok(r) => r,
        Err(e) => return failure(p, ctx, &e),
    };
    let table = match deliveries_table(p, ctx, &rows, &refs, now).await {
        Ok(t) => t,
        Err(e) => return failure(p, ctx, &e),
    };
    let _ = write!(
        body,
        "<div class=\"card\"><h2>Recent deliveries</h2>{table}</div>"
    );
    render(p, ctx, status, "Endpoints", &body, notice, error)
}

fn split_types(raw: &str) -> Vec<String> {
    let types: Vec<String> = raw
        .split([',', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if types.is_empty() {
        vec!["*".to_owned()]
    } else {
        types
    }
}

/// The page that shows a secret: the one time it is rendered.
fn secret_page(
    p: &Portal,
    ctx: &Ctx,
    info: &EndpointInfo,
    secret: &str,
    headline: &str,
) -> Response {
    let body = format!(
        "<div class=\"card\"><h1>{headline}</h1>\
         <p class=\"sub\">Signing secret for <code>{url}</code>:</p>\
         <div class=\"secret\" id=\"secret\">{secret}</div>\
         <p class=\"warnbox\">Copy it now and store it in your receiver's configuration. \
         It is not shown again.</p>\
         <div class=\"actions\"><a class=\"btn primary\" id=\"continue\" href=\"{base}/endpoints/{id}\">Continue</a></div></div>",
        headline = esc(headline),
        url = esc(&info.endpoint.url),
        secret = esc(secret),
        base = esc(&ctx.base),
        id = esc(&info.endpoint.id),
    );
    render(p, ctx, StatusCode::OK, headline, &body, None, None)
}

fn refusal_text(e: &DispatchError) -> Option<String> {
    crate::flavour::validation(e).map(|v| {
        let mut s = v.to_string();
        if let Some(first) = s.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        s
    })
}

pub(super) async fn create_endpoint(
    State(p): State<Portal>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (ctx, tenant, form) = match post_ctx(&p, &parts, body).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(family) = Family::from_name(form.get("family")) else {
        return endpoints_page(
            &p,
            &ctx,
            &tenant,
            None,
            Some("Choose a format."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let new = NewEndpoint::new(tenant.clone(), family, form.get("url").trim())
        .event_types(split_types(form.get("event_types")))
        .description(form.get("description").trim());
    match p.api.dispatcher().create_endpoint(new).await {
        Ok(created) => match &created.secret {
            Some(s) => secret_page(
                &p,
                &ctx,
                &created.info,
                s.verification.expose_secret(),
                "Endpoint created",
            ),
            None => see_other(&format!("{}/endpoints/{}", ctx.base, created.id())),
        },
        Err(e) => match refusal_text(&e) {
            Some(text) => {
                endpoints_page(
                    &p,
                    &ctx,
                    &tenant,
                    None,
                    Some(&text),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
            None => failure(&p, &ctx, &e),
        },
    }
}

pub(super) async fn endpoint(
    State(p): State<Portal>,
    parts: Parts,
    Path(id): Path<String>,
) -> Response {
    let (ctx, tenant) = match page_ctx(&p, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let info = match owned(&p, &ctx, &tenant, &id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    endpoint_page(
        &p,
        &ctx,
        &info,
        notice(&parts).as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn endpoint_page(
    p: &Portal,
    ctx: &Ctx,
    info: &EndpointInfo,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let ep = &info.endpoint;
    let now = now_millis();
    let base = ctx.base.clone();
    let csrf = ctx.csrf(p);
    let action = |what: &str| format!("{base}/endpoints/{}/{what}", ep.id);
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"crumbs\"><a href=\"{home}\">Endpoints</a> ›</div>\
         <div class=\"title-row\"><div><h1 class=\"url\">{url}</h1>\
         <p class=\"sub\">{family} · <code>{id}</code></p></div><div>{status}</div></div>",
        home = esc(&ctx.home()),
        url = esc(&ep.url),
        family = family_label(ep.family),
        id = esc(&ep.id),
        status = status_of(info),
    );
    let disabled_reason = match &ep.status {
        EndpointStatus::Disabled { reason, at } => format!(
            "<dt>Disabled</dt><dd>{} ({})</dd>",
            esc(reason),
            time(*at, now)
        ),
        _ => String::new(),
    };
    let secrets = if ep.scheme.is_none() {
        "unsigned".to_owned()
    } else {
        let active: Vec<_> = info
            .secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|e| e > now))
            .collect();
        let mut s = format!("{} active", active.len());
        if let Some(exp) = active.iter().filter_map(|s| s.expires_at).min() {
            let _ = write!(s, " · the previous one stops signing {}", time(exp, now));
        }
        s
    };
    let toggle = if ep.is_enabled() {
        button_form(&action("disable"), &csrf, "Disable", "danger")
    } else {
        button_form(&action("enable"), &csrf, "Enable", "")
    };
    let rotate = if ep.scheme.is_some() {
        button_form(&action("rotate"), &csrf, "Rotate secret", "")
    } else {
        String::new()
    };
    let _ = write!(
        body,
        "<div class=\"grid\"><div class=\"card\"><h2>Settings</h2><dl class=\"facts\">\
         <dt>Description</dt><dd>{desc}</dd><dt>Created</dt><dd>{created}</dd>\
         <dt>Last attempt</dt><dd>{last}</dd><dt>Signing secret</dt><dd>{secrets}</dd>{disabled_reason}</dl>\
         <form method=\"post\" action=\"{types_action}\">{csrf_field}\
         <label for=\"event_types\">Event types</label>\
         <input id=\"event_types\" name=\"event_types\" type=\"text\" value=\"{types}\">\
         <div class=\"hint\">Comma-separated; <code>*</code> for every event.</div>\
         <div class=\"actions\"><button class=\"btn primary\" id=\"save-types\" type=\"submit\">Save event types</button></div>\
         </form></div><div class=\"card\"><h2>Actions</h2>\
         <div class=\"actions\">{test} {toggle} {rotate}</div>\
         <form method=\"post\" action=\"{recover_action}\">{csrf_field}\
         <label for=\"since\">Recover failed deliveries from the last</label>\
         <select id=\"since\" name=\"since\"><option value=\"3600\">hour</option>\
         <option value=\"86400\" selected>day</option><option value=\"604800\">week</option>\
         <option value=\"2592000\">30 days</option></select>\
         <div class=\"actions\"><button class=\"btn\" id=\"recover\" type=\"submit\">Recover failures</button></div>\
         </form></div></div>",
        desc = if ep.description.is_empty() {
            "<span class=\"muted\">none</span>".to_owned()
        } else {
            esc(&ep.description)
        },
        created = time(ep.created_at, now),
        last = ep
            .last_triggered_at
            .map_or_else(|| "never".to_owned(), |t| time(t, now)),
        types_action = esc(&action("event-types")),
        csrf_field = csrf_field(&csrf),
        types = esc(&ep.event_types.join(", ")),
        test = button_form(&action("test"), &csrf, "Send test event", ""),
        recover_action = esc(&action("recover")),
    );
    let refs = [info];
    let rows = match recent(p, &refs, None, ROWS).await {
        Ok(r) => r,
        Err(e) => return failure(p, ctx, &e),
    };
    let table = match deliveries_table(p, ctx, &rows, &refs, now).await {
        Ok(t) => t,
        Err(e) => return failure(p, ctx, &e),
    };
    let _ = write!(body, "<div class=\"card\"><h2>Deliveries</h2>{table}</div>");
    render(p, ctx, status, "Endpoint", &body, notice, error)
}

/// The endpoint's actions (`POST /endpoints/{id}/{action}`): event-types, enable, disable,
/// test, recover and rotate. Each redirects back to the endpoint with a notice, except
/// rotate, which shows the new secret once; a refusal is shown on the endpoint's page.
pub(super) async fn act(
    State(p): State<Portal>,
    parts: Parts,
    Path((id, action)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (ctx, tenant, form) = match post_ctx(&p, &parts, body).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let info = match owned(&p, &ctx, &tenant, &id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let d = p.api.dispatcher();
    let ep = info.endpoint.id.as_str();
    let done = match action.as_str() {
        "event-types" => {
            let update = EndpointUpdate {
                event_types: Some(split_types(form.get("event_types"))),
                ..EndpointUpdate::default()
            };
            d.update_endpoint(ep, update)
                .await
                .map(|_| "types".to_owned())
        }
        "enable" => d.enable_endpoint(ep).await.map(|_| "enabled".to_owned()),
        "disable" => d.disable_endpoint(ep).await.map(|_| "disabled".to_owned()),
        "test" => d.send_test(ep).await.map(|_| "test".to_owned()),
        "recover" => {
            let secs: i64 = form
                .get("since")
                .parse()
                .unwrap_or(86_400)
                .clamp(60, 90 * 86_400);
            d.recover(ep, now_millis() - secs * 1000)
                .await
                .map(|n| format!("recovered&n={n}"))
        }
        "rotate" => match d.rotate_secret(ep).await {
            Ok(rotated) => {
                let secret = rotated.secret.verification;
                return secret_page(&p, &ctx, &info, secret.expose_secret(), "Secret rotated");
            }
            Err(e) => Err(e),
        },
        _ => return not_found(&p, &ctx),
    };
    match done {
        Ok(notice) => see_other(&format!("{}/endpoints/{}?notice={notice}", ctx.base, id)),
        Err(e) => match refusal_text(&e) {
            Some(text) => {
                endpoint_page(&p, &ctx, &info, None, Some(&text), StatusCode::BAD_REQUEST).await
            }
            None => failure(&p, &ctx, &e),
        },
    }
}

// ---- deliveries ---------------------------------------------------------------------------

fn attempts_table(attempts: &[Attempt], now: i64) -> String {
    if attempts.is_empty() {
        return "<div class=\"empty\">No attempt yet: it is queued.</div>".to_owned();
    }
    let mut out = String::from(
        "<table class=\"attempts\"><thead><tr><th>#</th><th>When</th><th>Status</th>\
         <th>Duration</th><th>Error</th><th>Response</th></tr></thead><tbody>",
    );
    for a in attempts {
        let snippet = a.response_snippet.as_deref().unwrap_or("");
        let shown: String = snippet.chars().take(600).collect();
        let _ = write!(
            out,
            "<tr class=\"attempt\"><td>{n}</td><td>{when}</td><td>{status}</td><td>{ms} ms</td>\
             <td class=\"muted\">{error}</td><td>{snippet}</td></tr>",
            n = a.number,
            when = time(a.at, now),
            status = status_badge(a.status),
            ms = a.duration_ms,
            error = esc(a.error.as_deref().unwrap_or("")),
            snippet = if shown.is_empty() {
                String::new()
            } else {
                format!("<pre class=\"snippet\">{}</pre>", esc(&shown))
            },
        );
    }
    out.push_str("</tbody></table>");
    out
}

pub(super) async fn delivery(
    State(p): State<Portal>,
    parts: Parts,
    Path(id): Path<String>,
) -> Response {
    let (ctx, tenant) = match page_ctx(&p, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (d, info) = match owned_delivery(&p, &ctx, &tenant, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let dispatcher = p.api.dispatcher();
    let message = match dispatcher.message(&d.message_id).await {
        Ok(m) => m,
        Err(e) => return failure(&p, &ctx, &e),
    };
    let attempts: Vec<Attempt> = match dispatcher.attempts_for_message(&d.message_id).await {
        Ok(a) => a.into_iter().filter(|a| a.delivery_id == d.id).collect(),
        Err(e) => return failure(&p, &ctx, &e),
    };
    let now = now_millis();
    let csrf = ctx.csrf(&p);
    let base = ctx.base.clone();
    let payload = message
        .as_ref()
        .map(|m| {
            let text = String::from_utf8_lossy(&m.payload);
            let pretty = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| text.into_owned());
            pretty.chars().take(8192).collect::<String>()
        })
        .unwrap_or_default();
    let redeliver = if matches!(d.state, DeliveryState::Delivered | DeliveryState::Failed) {
        button_form(
            &format!("{base}/deliveries/{}/redeliver", d.id),
            &csrf,
            "Redeliver",
            "primary",
        )
    } else {
        String::new()
    };
    let body = format!(
        "<div class=\"crumbs\"><a href=\"{home}\">Endpoints</a> › \
         <a href=\"{b}/endpoints/{ep_id}\">{url}</a> ›</div>\
         <div class=\"title-row\"><div><h1>Delivery</h1><p class=\"sub\"><code>{id}</code> · \
         message <code>{msg}</code></p></div><div>{state} {redeliver}</div></div>\
         <div class=\"grid\"><div class=\"card\"><h2>Attempts</h2>{attempts}</div>\
         <div class=\"card\"><h2>Details</h2><dl class=\"facts\"><dt>Event</dt><dd><code>{event}</code></dd>\
         <dt>Created</dt><dd>{created}</dd><dt>Attempts</dt><dd>{n}</dd>\
         <dt>Next attempt</dt><dd>{next}</dd><dt>Last result</dt><dd>{last}</dd></dl></div></div>\
         <div class=\"card\"><h2>Payload</h2><pre class=\"snippet payload\">{payload}</pre></div>",
        b = esc(&base),
        home = esc(&ctx.home()),
        ep_id = esc(&info.endpoint.id),
        url = esc(&info.endpoint.url),
        id = esc(&d.id),
        msg = esc(&d.message_id),
        state = state_badge(d.state),
        attempts = attempts_table(&attempts, now),
        event = esc(message.as_ref().map_or("", |m| m.event_type.as_str())),
        created = time(d.created_at, now),
        n = d.attempts,
        next = if d.state == DeliveryState::Pending {
            time(d.next_attempt_at, now)
        } else {
            "<span class=\"muted\">none</span>".to_owned()
        },
        last = esc(d.last_error.as_deref().unwrap_or("—")),
        payload = esc(&payload),
    );
    render(
        &p,
        &ctx,
        StatusCode::OK,
        "Delivery",
        &body,
        notice(&parts).as_deref(),
        None,
    )
}

pub(super) async fn redeliver(
    State(p): State<Portal>,
    parts: Parts,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (ctx, tenant, _) = match post_ctx(&p, &parts, body).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (d, _) = match owned_delivery(&p, &ctx, &tenant, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match p.api.dispatcher().redeliver(&d.id).await {
        Ok(()) => see_other(&format!(
            "{}/deliveries/{}?notice=redelivered",
            ctx.base, d.id
        )),
        Err(e) => failure(&p, &ctx, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_lists_split_on_commas_and_spaces() {
        assert_eq!(split_types(" a, b  c,,"), ["a", "b", "c"]);
        assert_eq!(split_types("  "), ["*"]);
    }
}
