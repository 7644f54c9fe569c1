//! The command line: configuration errors name their key and exit non-zero;
//! check-config redacts secrets.

use std::process::Command;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ent-identity"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ENT_IDENTITY") {
            command.env_remove(key);
        }
    }
    command
}

/// Runs `check-config` on a configuration file holding `text`.
fn check_config(dir: &std::path::Path, text: &str) -> std::process::Output {
    let file = dir.join("config.toml");
    std::fs::write(&file, text).expect("write");
    binary()
        .arg("--config")
        .arg(&file)
        .arg("check-config")
        .output()
        .expect("runs")
}

#[test]
fn bad_configuration_names_the_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().expect("temp");
    let output = check_config(
        dir.path(),
        r#"
        [institutions.demo]
        name = "Demo"
        time_zone = "Europe/Nowhere"
        profiles = {}
        "#,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Europe/Nowhere"), "{stderr}");

    let output = check_config(
        dir.path(),
        r#"
        [server]
        request_timeout = "0s"
        [institutions.Demo]
        name = ""
        time_zone = "Europe/Paris"
        profiles = {}
        "#,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for key in [
        "server.request_timeout",
        "institutions.Demo",
        "institutions.Demo.name",
        "institutions.Demo.profiles",
    ] {
        assert!(stderr.contains(key), "{key} not in {stderr}");
    }

    let output = binary()
        .arg("-c")
        .arg(dir.path().join("missing.toml"))
        .arg("check-config")
        .output()
        .expect("runs");
    assert!(!output.status.success());
}

#[test]
fn check_config_prints_the_effective_configuration_without_secrets() {
    let output = binary()
        .args(["--config", "deploy/config/local.toml", "check-config"])
        .env(
            "ENT_IDENTITY__DATABASE__URL",
            "postgres://ident:hunter2@db.example:5432/ident",
        )
        .env("ENT_IDENTITY__MAIL__SMTP__PASSWORD", "smtp-secret")
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("postgres://ident:***@db.example:5432/ident"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2") && !stdout.contains("smtp-secret"));
    for institution in ["u-bordeaux-montaigne", "umontpellier", "univ-tours"] {
        assert!(stdout.contains(institution), "{institution} missing");
    }
}

/// The README's run command, end to end: the real binary serves health and
/// reflection on SQLite with mail in a folder, and stops cleanly on SIGTERM.
#[tokio::test]
async fn the_binary_serves_and_stops_on_sigterm() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let dir = tempfile::tempdir().expect("temp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = binary()
        .args(["--config", "deploy/config/local.toml", "serve"])
        .env("ENT_IDENTITY__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "ENT_IDENTITY__DATABASE__URL",
            format!("sqlite://{}", dir.path().join("db/ent.sqlite").display()),
        )
        .env("ENT_IDENTITY__MAIL__FOLDER", dir.path().join("mail"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let mut serving = false;
    for _ in 0..100 {
        if let Ok(channel) =
            tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
                .expect("endpoint")
                .connect()
                .await
        {
            let status = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: "ent.identity.v1.ActivationService".into(),
                })
                .await
                .map(|r| r.into_inner().status);
            if matches!(status, Ok(s) if s == ServingStatus::Serving as i32) {
                serving = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(serving, "the binary never reported SERVING");
    assert!(
        dir.path().join("db/ent.sqlite").exists(),
        "SQLite file and folder created"
    );
    assert!(dir.path().join("mail").is_dir(), "mail folder created");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = exited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the server did not stop on SIGTERM");
    });
    assert!(status.success(), "{status:?}");
}

#[test]
fn migrate_creates_and_migrates_the_database() {
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("fresh/ent.sqlite");
    let output = binary()
        .arg("migrate")
        .env(
            "ENT_IDENTITY__DATABASE__URL",
            format!("sqlite://{}", file.display()),
        )
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(file.exists());
    // Running it again is harmless.
    let again = binary()
        .arg("migrate")
        .env(
            "ENT_IDENTITY__DATABASE__URL",
            format!("sqlite://{}", file.display()),
        )
        .output()
        .expect("runs");
    assert!(again.status.success());
}
