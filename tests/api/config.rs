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
        [telemetry]
        filter = "info,[unclosed"
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
        "telemetry.filter",
        "institutions.Demo",
        "institutions.Demo.name",
        "institutions.Demo.profiles",
    ] {
        assert!(stderr.contains(key), "{key} not in {stderr}");
    }

    // A choice outside the allowed values names the key and the choices.
    let output = check_config(dir.path(), "[mail]\ntransport = \"smtps\"\n");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("mail.transport") && stderr.contains("expected `file` or `smtp`"),
        "{stderr}"
    );
    assert!(!stderr.contains("MailTransportKind"), "{stderr}");

    let output = binary()
        .arg("-c")
        .arg(dir.path().join("missing.toml"))
        .arg("check-config")
        .output()
        .expect("runs");
    assert!(!output.status.success());
}

/// `check-config` advises where a policy falls short of the CNIL's
/// recommendation 2022-100, without refusing it: the seeds' documents (below
/// 50 bits, Tours' yearly renewal now with its reason) are named, a preset
/// is not, and a renewal without a reason is.
#[test]
fn check_config_advises_on_policies_weaker_than_the_cnils() {
    let output = binary()
        .args(["--config", "deploy/config/local.toml", "check-config"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for institution in ["u-bordeaux-montaigne", "umontpellier", "univ-tours"] {
        let key = format!("advice: institutions.{institution}.password_policy.cnil_2022");
        assert!(stderr.contains(&key), "{key} not in {stderr}");
    }
    assert!(!stderr.contains("max_age"), "{stderr}");
    assert!(!stderr.contains("profiles.staff"), "{stderr}");

    let dir = tempfile::tempdir().expect("temp");
    let output = check_config(
        dir.path(),
        r#"
        [institutions.demo]
        name = "Demo"
        time_zone = "Europe/Paris"
        password_policy = { preset = "cnil_2022_restricted_access", max_age = "90days", common_passwords = false, breached_passwords = false }
        [institutions.demo.profiles.student]
        kind = "student"
        login = { scheme = "student_number_suffix", suffix = "D" }
        retention = { months = 3 }
        activation = { channel = "mailed_link", delay = "0s", material_lifetime = "7days", screens = [["password"]] }
        [institutions.demo.profiles.staff]
        kind = "staff"
        login = { scheme = "initial_family_sequence", digits = 3 }
        retention = { months = 6 }
        activation = { channel = "mailed_link", delay = "0s", material_lifetime = "7days", screens = [["password"]] }
        password_policy = { min_length = 10, cnil_2022 = "off" }
        "#,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for key in [
        "institutions.demo.password_policy.max_age",
        "institutions.demo.password_policy.breached_passwords",
        "institutions.demo.profiles.staff.password_policy.cnil_2022",
    ] {
        assert!(stderr.contains(key), "{key} not in {stderr}");
    }
    assert!(
        !stderr.contains("institutions.demo.password_policy.cnil_2022"),
        "{stderr}"
    );
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
    // Durations as they are typed (Montpellier purges 90 days after expiry).
    assert!(stdout.contains("purge_after = \"90days\""), "{stdout}");
    assert!(!stdout.contains("29days"), "{stdout}");
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
        // The quick start's portal port may be another run's (a second
        // checkout testing on the same machine).
        .env("ENT_IDENTITY__PORTAL__LISTEN", "127.0.0.1:0")
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

/// deploy/'s example configurations load and validate as shipped (the
/// placeholders of the callers' hashes filled in), with the example
/// institutions.
#[test]
fn the_deployment_examples_are_valid_configurations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp");
    let env = || {
        vec![(
            "ENT_IDENTITY__INSTITUTIONS_DIR".to_owned(),
            root.join("deploy/config/institutions")
                .display()
                .to_string(),
        )]
    };
    // Kubernetes: the ConfigMap's config.toml and the Secret's clients.toml.
    let mut clients = String::new();
    let example = std::fs::read_to_string(root.join("deploy/kubernetes/clients.example.toml"))
        .expect("clients example");
    for (n, line) in example.lines().enumerate() {
        if line.starts_with("token_sha256") {
            clients.push_str(&format!("token_sha256 = [\"{n:064x}\"]\n"));
        } else {
            clients.push_str(line);
            clients.push('\n');
        }
    }
    let clients_file = dir.path().join("clients.toml");
    std::fs::write(&clients_file, clients).expect("clients");
    let k8s = ent_identity::config::Settings::load_with_env(
        &[root.join("deploy/kubernetes/config.toml"), clients_file],
        env(),
    )
    .expect("the Kubernetes configuration");
    assert_eq!(k8s.auth.clients.len(), 5);
    assert_eq!(k8s.institutions.len(), 3);
    assert!(k8s.metrics.listen.is_some() && k8s.server.health_listen.is_some());
    // The docker compose trial's: PostgreSQL, the portal on loopback.
    let trial = ent_identity::config::Settings::load_with_env(
        &[root.join("deploy/compose/trial.toml")],
        env(),
    )
    .expect("the compose trial's configuration");
    assert!(trial.database.url.starts_with("postgres://"));
    assert!(trial.portal.is_some_and(|p| p.listen.ip().is_loopback()));
    // The VM example.
    let text =
        std::fs::read_to_string(root.join("deploy/config/vm.example.toml")).expect("VM example");
    let mut n = 0;
    let filled: String = text
        .lines()
        .map(|line| match line.split_once("[\"<sha256") {
            Some((key, _)) => {
                n += 1;
                format!("{key}[\"{n:064x}\"]\n")
            }
            None => format!("{line}\n"),
        })
        .collect();
    let vm_file = dir.path().join("vm.toml");
    std::fs::write(&vm_file, filled).expect("vm");
    let vm = ent_identity::config::Settings::load_with_env(&[vm_file], env())
        .expect("the VM configuration");
    assert!(vm.server.tls.is_some());
    assert_eq!(vm.auth.clients.len(), 5);
    // The portal's, alone (a VM, Kubernetes): nothing but [portal].
    for file in [
        "deploy/config/portal.example.toml",
        "deploy/kubernetes/portal.toml",
    ] {
        let settings =
            ent_identity::config::Settings::load_with_env(&[root.join(file)], Vec::new())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        let portal = settings.portal.expect("portal");
        assert!(!portal.institutions.is_empty() && portal.session_key_file.is_some());
        assert!(portal.secure_cookies, "{file}");
    }
    // The LDAP worker's, alone: nothing but [ldap_sync], valid as it is.
    for file in [
        "deploy/config/ldap-sync.example.toml",
        "deploy/kubernetes/ldap-sync.toml",
    ] {
        let settings =
            ent_identity::config::Settings::load_with_env(&[root.join(file)], Vec::new())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        settings
            .validate()
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let sync = settings.ldap_sync.expect("ldap_sync");
        assert_eq!(sync.institutions.len(), 3, "{file}");
    }
}

/// A list from the environment is a JSON array; anything else in brackets
/// names the variable.
#[test]
fn lists_are_set_from_the_environment_as_json_arrays() {
    let var = "ENT_IDENTITY__GRPC_WEB__ALLOWED_ORIGINS".to_owned();
    let settings = ent_identity::config::Settings::load_with_env(
        &[],
        vec![(
            var.clone(),
            r#"["https://ent.example.edu", "https://ent2.example.edu"]"#.to_owned(),
        )],
    )
    .expect("a list from the environment");
    assert_eq!(
        settings.grpc_web.allowed_origins,
        ["https://ent.example.edu", "https://ent2.example.edu"]
    );
    let error = ent_identity::config::Settings::load_with_env(
        &[],
        vec![(var.clone(), r#"["https://ent.example.edu""#.to_owned())],
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains(&var), "{error}");
    assert!(error.contains("JSON array"), "{error}");
}

/// `client-token` takes no argument: the shipped comments and the
/// documentation say how it is called, and it runs so.
#[test]
fn client_token_is_called_as_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut folders = vec![
        root.join("deploy/config"),
        root.join("deploy/kubernetes"),
        root.join("docs"),
    ];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("a folder of the project") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for file in files.iter().filter(|f| f.is_file()) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (at, _) in text.match_indices("ent-identity client-token") {
            let next = text[at + "ent-identity client-token".len()..]
                .split_whitespace()
                .next()
                .unwrap_or("");
            assert!(
                !next.chars().next().is_some_and(|c| c.is_ascii_uppercase()),
                "{}: `client-token {next}`, but it takes no argument",
                file.display()
            );
        }
    }
    let output = binary().arg("client-token").output().expect("runs");
    assert!(output.status.success());
}

/// Issue 29: the processing record in the docs is the command's output for
/// the quick start's configuration, so that it stays true.
#[test]
fn the_documented_processing_record_is_the_commands() {
    let output = binary()
        .args(["--config", "deploy/config/local.toml", "processing-record"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let record = String::from_utf8(output.stdout).expect("UTF-8");
    for kept in [
        "365days (`[retention] audit_events`)",
        "`{CROUS}PARTAGE`",
        "`ldap_sync`",
    ] {
        assert!(record.contains(kept), "{kept} not in {record}");
    }
    let page = std::fs::read_to_string("docs/operating/processing-record.md").expect("page");
    assert!(
        page.starts_with(&record),
        "docs/operating/processing-record.md is not the command's output: run\n  ent-identity --config deploy/config/local.toml processing-record\nand put it at the top of the page"
    );
}
