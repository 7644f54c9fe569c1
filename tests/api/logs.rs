//! Every server log line of the test run, kept in memory so that a test can
//! look for secrets in them; the usual filtered copy goes to the test's
//! captured output.

use std::io::Write;
use std::sync::{Mutex, Once};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        Capture
    }
}

/// Installs the test run's subscriber (once).
pub fn install() {
    INSTALL.call_once(|| {
        let shown = tracing_subscriber::fmt::layer()
            .fmt_fields(ShownFields::default())
            .with_test_writer()
            .with_filter(EnvFilter::new("warn,ent_identity=info"));
        // As verbose as an operator could make it: our own code at TRACE,
        // the libraries at DEBUG (HTTP/2 framing aside).
        let captured = tracing_subscriber::fmt::layer()
            .with_writer(Capture)
            .with_ansi(false)
            .with_filter(EnvFilter::new(
                "debug,ent_identity=trace,h2=info,hyper=info,hyper_util=info",
            ));
        let _ = tracing_subscriber::registry()
            .with(shown)
            .with(captured)
            .try_init();
    });
}

/// The shown layer's fields, formatted as usual under a type of their own:
/// two layers that format fields with the same type share one copy of a
/// span's fields, and a field recorded later (the call's client, its
/// outcome) would then be written into it twice.
#[derive(Default)]
struct ShownFields(tracing_subscriber::fmt::format::DefaultFields);

impl<'writer> tracing_subscriber::fmt::FormatFields<'writer> for ShownFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: tracing_subscriber::fmt::format::Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// Everything logged so far.
pub fn captured() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

use tracing_subscriber::Layer as _;
