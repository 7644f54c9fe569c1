//! The formats a metrics endpoint answers in. `prometheus-client` writes
//! OpenMetrics; Prometheus asks for it first, but `promtool check metrics`,
//! `curl` and older scrapers read the Prometheus text format 0.0.4, in which
//! a counter's help and type name its `_total` series. The server and the
//! LDAP sync worker negotiate from the scrape's `Accept` header.

/// What a scrape asked for: OpenMetrics (Prometheus asks for it first), or
/// the Prometheus text format 0.0.4 (`promtool check metrics`, `curl`, older
/// scrapers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    OpenMetrics,
    PrometheusText,
}

impl Exposition {
    /// The format an `Accept` header asks for; without one, the text format.
    pub fn negotiate(accept: Option<&str>) -> Exposition {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => {
                Exposition::OpenMetrics
            }
            _ => Exposition::PrometheusText,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Exposition::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// The exposition in this format, from its OpenMetrics form.
    pub fn body(self, openmetrics: String) -> String {
        match self {
            Exposition::OpenMetrics => openmetrics,
            Exposition::PrometheusText => prometheus_text(&openmetrics),
        }
    }
}

/// The Prometheus text format (0.0.4) of an OpenMetrics exposition. The
/// two differ in what this server writes in three ways only: a counter's
/// `# HELP` and `# TYPE` name its `_total` series (OpenMetrics names the
/// family without the suffix), and `# UNIT` and `# EOF` do not exist.
fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let described = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|tag| Some((tag, line.strip_prefix(tag)?)));
        match described {
            Some((tag, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let suffix = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                out.push_str(&format!("{tag}{name}{suffix} {tail}"));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENMETRICS: &str = "# HELP grpc_server_started RPCs started.\n# TYPE grpc_server_started counter\ngrpc_server_started_total{grpc_method=\"GetAccount\"} 3\n# HELP up_seconds Uptime.\n# TYPE up_seconds gauge\n# UNIT up_seconds seconds\nup_seconds 1.5\n# EOF\n";

    #[test]
    fn the_text_format_names_counters_by_their_series() {
        let text = Exposition::PrometheusText.body(OPENMETRICS.to_owned());
        assert_eq!(
            text,
            "# HELP grpc_server_started_total RPCs started.\n# TYPE grpc_server_started_total counter\ngrpc_server_started_total{grpc_method=\"GetAccount\"} 3\n# HELP up_seconds Uptime.\n# TYPE up_seconds gauge\nup_seconds 1.5\n"
        );
        assert_eq!(
            Exposition::OpenMetrics.body(OPENMETRICS.to_owned()),
            OPENMETRICS
        );
    }

    #[test]
    fn openmetrics_only_for_those_who_ask() {
        let prometheus =
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        assert_eq!(
            Exposition::negotiate(Some(prometheus)),
            Exposition::OpenMetrics
        );
        assert_eq!(
            Exposition::negotiate(Some("text/plain;version=0.0.4")),
            Exposition::PrometheusText
        );
        assert_eq!(Exposition::negotiate(None), Exposition::PrometheusText);
    }
}
