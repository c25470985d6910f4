//! HTML building blocks: escaping, the page frame, badges, relative times. Every dynamic
//! string goes through [`esc`]; nothing else is interpolated into markup.

use std::fmt::Write as _;

use hookwire_dispatch::model::DeliveryState;

/// The portal's stylesheet, compiled into the binary.
pub(crate) const CSS: &str = include_str!("portal.css");

/// Escapes text for an HTML text node or a double-quoted attribute value.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: head, the top bar (with the tenant and a sign-out form when signed in),
/// an optional notice, and `body`.
pub(crate) struct Frame<'a> {
    pub(crate) base: &'a str,
    pub(crate) title: &'a str,
    pub(crate) tenant: Option<&'a str>,
    /// Whether to offer "Sign out" (the tenant came from the portal's own session).
    pub(crate) signout: bool,
    pub(crate) csrf: &'a str,
    pub(crate) notice: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
}

impl Frame<'_> {
    pub(crate) fn render(&self, body: &str) -> String {
        let mut out = String::with_capacity(body.len() + 2048);
        let _ = write!(
            out,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · Webhooks</title>\
             <link rel=\"stylesheet\" href=\"{base}/assets/portal.css\"></head><body>\
             <header class=\"top\"><a class=\"brand\" href=\"{home}\">\
             <span class=\"logo\">⟲</span> Webhooks</a>",
            title = esc(self.title),
            base = esc(self.base),
            home = esc(if self.base.is_empty() { "/" } else { self.base }),
        );
        if let Some(t) = self.tenant {
            let _ = write!(
                out,
                "<div class=\"who\"><span class=\"tenant\">{}</span>",
                esc(t)
            );
            if self.signout {
                let _ = write!(
                    out,
                    "<form method=\"post\" action=\"{}/logout\">{}\
                     <button class=\"link\" id=\"signout\" type=\"submit\">Sign out</button></form>",
                    esc(self.base),
                    csrf_field(self.csrf),
                );
            }
            out.push_str("</div>");
        }
        out.push_str("</header><main>");
        if let Some(n) = self.notice {
            let _ = write!(
                out,
                "<div class=\"flash ok\" role=\"status\">{}</div>",
                esc(n)
            );
        }
        if let Some(e) = self.error {
            let _ = write!(
                out,
                "<div class=\"flash err\" role=\"alert\">{}</div>",
                esc(e)
            );
        }
        out.push_str(body);
        out.push_str("</main><footer>Powered by hookwire</footer></body></html>");
        out
    }
}

/// The hidden CSRF input every state-changing form carries.
pub(crate) fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// A one-button form posting to `action`.
pub(crate) fn button_form(action: &str, csrf: &str, label: &str, class: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}\
         <button class=\"btn {}\" type=\"submit\">{}</button></form>",
        esc(action),
        csrf_field(csrf),
        esc(class),
        esc(label)
    )
}

/// A coloured badge for a delivery state.
pub(crate) fn state_badge(state: DeliveryState) -> String {
    let (class, label) = match state {
        DeliveryState::Pending => ("warn", "Pending"),
        DeliveryState::InFlight => ("info", "Sending"),
        DeliveryState::Delivered => ("ok", "Delivered"),
        DeliveryState::Failed => ("bad", "Failed"),
    };
    format!("<span class=\"badge {class}\">{label}</span>")
}

/// A badge for an HTTP status (or the lack of one).
pub(crate) fn status_badge(status: Option<u16>) -> String {
    match status {
        Some(s @ 200..=299) => format!("<span class=\"badge ok\">{s}</span>"),
        Some(s @ 400..=499) => format!("<span class=\"badge warn\">{s}</span>"),
        Some(s) => format!("<span class=\"badge bad\">{s}</span>"),
        None => "<span class=\"badge bad\">no response</span>".to_owned(),
    }
}

/// "just now", "5 s ago", "3 min ago", "2 h ago", "4 d ago", "in 30 s".
pub(crate) fn relative(at_ms: i64, now_ms: i64) -> String {
    let delta = (now_ms - at_ms) / 1000;
    let (n, future) = if delta < 0 {
        (-delta, true)
    } else {
        (delta, false)
    };
    let text = match n {
        0..=4 => return "just now".to_owned(),
        5..=59 => format!("{n} s"),
        60..=3599 => format!("{} min", n / 60),
        3600..=86_399 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86_400),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// A `<time>` element showing [`relative`] with the absolute UTC time as its tooltip.
pub(crate) fn time(at_ms: i64, now_ms: i64) -> String {
    let iso = crate::flavour::iso_z(at_ms);
    format!(
        "<time datetime=\"{iso}\" title=\"{iso}\">{}</time>",
        relative(at_ms, now_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            esc("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(esc("plain"), "plain");
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_000_000_000;
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now - 12_000, now), "12 s ago");
        assert_eq!(relative(now - 180_000, now), "3 min ago");
        assert_eq!(relative(now - 7_200_000, now), "2 h ago");
        assert_eq!(relative(now - 3 * 86_400_000, now), "3 d ago");
        assert_eq!(relative(now + 30_000, now), "in 30 s");
    }
}
