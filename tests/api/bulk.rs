//! The streaming bulk call: 10,000 records with a few bad ones, each
//! answered on its own.

use std::time::Instant;

use ent_identity::proto;
use tonic::Code;

use crate::support::*;

/// One of 50 family names, so that 200 people share each.
fn family(i: usize) -> String {
    let n = (i % 50) as u8;
    format!("Nom{}{}", (b'a' + n / 26) as char, (b'a' + n % 26) as char)
}

#[tokio::test]
async fn ten_thousand_records_stream_with_per_record_results() {
    let app = spawn_app().await;
    const COUNT: usize = 10_000;
    let requests: Vec<proto::BulkProvisionAccountsRequest> = (0..COUNT)
        .map(|i| {
            let mut record =
                bordeaux_student(&format!("{:08}", 30_000_000 + i), "Camille", &family(i));
            if i % 1000 == 999 {
                record.birth_date = "not a date".into();
            }
            proto::BulkProvisionAccountsRequest {
                correlation_id: format!("row-{i}"),
                record: Some(record),
            }
        })
        .collect();
    let started = Instant::now();
    let mut responses = app
        .lifecycle
        .clone()
        .bulk_provision_accounts(tokio_stream::iter(requests))
        .await
        .expect("stream accepted")
        .into_inner();
    let mut ok = 0;
    let mut failed = Vec::new();
    let mut seen = 0;
    while let Some(response) = responses.message().await.expect("stream item") {
        assert_eq!(
            response.correlation_id,
            format!("row-{seen}"),
            "results come in order"
        );
        seen += 1;
        match response.result.expect("result") {
            proto::bulk_provision_accounts_response::Result::Provisioned(p) => {
                assert_eq!(p.outcome(), proto::ProvisionOutcome::Created);
                assert!(
                    !p.activation_material
                        .expect("material")
                        .activation_key
                        .is_empty()
                );
                ok += 1;
            }
            proto::bulk_provision_accounts_response::Result::Error(e) => {
                assert_eq!(e.code, Code::InvalidArgument as i32);
                assert_eq!(e.field_violations[0].field, "record.birth_date");
                failed.push(response.correlation_id);
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "bulk: {COUNT} records in {elapsed:?} ({:.0} records/s, debug build)",
        COUNT as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(seen, COUNT);
    assert_eq!(ok, COUNT - 10);
    assert_eq!(failed.len(), 10);
    assert_eq!(failed[0], "row-999");
    assert_eq!(app.all_changes().await.len(), COUNT - 10);

    // Logins of namesakes are unique: 200 people share each family name.
    let changes = app.all_changes().await;
    let logins: std::collections::HashSet<_> = changes
        .iter()
        .map(|c| c.account.as_ref().expect("account").login.clone())
        .collect();
    assert_eq!(logins.len(), COUNT - 10);
    assert!(logins.contains("cnomaa001") && logins.contains("cnomaa200"));

    // Sending the same stream again is idempotent.
    let again: Vec<_> = (0..100)
        .map(|i| proto::BulkProvisionAccountsRequest {
            correlation_id: i.to_string(),
            record: Some(bordeaux_student(
                &format!("{:08}", 30_000_000 + i),
                "Camille",
                &family(i),
            )),
        })
        .collect();
    let mut responses = app
        .lifecycle
        .clone()
        .bulk_provision_accounts(tokio_stream::iter(again))
        .await
        .expect("stream accepted")
        .into_inner();
    while let Some(response) = responses.message().await.expect("stream item") {
        match response.result.expect("result") {
            proto::bulk_provision_accounts_response::Result::Provisioned(p) => {
                assert_eq!(p.outcome(), proto::ProvisionOutcome::Unchanged)
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
