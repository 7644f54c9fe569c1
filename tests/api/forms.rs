//! Issue 20: a page renders an institution's first connection from the
//! API's answers alone — its entry forms by population, each field's words
//! and constraints, in French and English.

use ent_identity::proto;
use tonic::Code;

use crate::support::*;

async fn describe(
    app: &TestApp,
    institution: &str,
    language: &str,
) -> Result<proto::DescribeFirstConnectionResponse, tonic::Status> {
    let mut request = tonic::Request::new(proto::DescribeFirstConnectionRequest {
        institution: institution.into(),
    });
    request
        .metadata_mut()
        .insert("accept-language", language.parse().expect("ascii"));
    app.activation()
        .describe_first_connection(request)
        .await
        .map(|r| r.into_inner())
}

fn field<'a>(entry: &'a proto::EntryForm, name: &str) -> &'a proto::FormField {
    entry
        .fields
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no field {name} in {entry:?}"))
}

#[tokio::test]
async fn montpellier_shows_one_form_per_way_in_with_its_populations() {
    let app = spawn_app().await;
    let described = describe(&app, "umontpellier", "fr")
        .await
        .expect("described");
    let info = described.institution.expect("institution");
    assert_eq!(info.name, "Université de Montpellier");
    assert_eq!(info.time_zone, "Europe/Paris");
    let channels: Vec<i32> = described.entries.iter().map(|e| e.channel).collect();
    assert_eq!(
        channels,
        [
            proto::ActivationChannel::ProvisionalPassword as i32,
            proto::ActivationChannel::MailedLink as i32
        ]
    );
    let staff = &described.entries[0];
    let audiences: Vec<&str> = staff.audiences.iter().map(|a| a.label.as_str()).collect();
    assert!(
        audiences.contains(&"Vacataires d'enseignement"),
        "{audiences:?}"
    );
    assert_eq!(
        field(staff, "provisional_password.provisional_password").kind,
        proto::FieldKind::Password as i32
    );
    assert!(
        field(staff, "provisional_password.login")
            .help
            .contains("PASS'UM")
    );
    // Students: the link comes by mail; the form asks for the login to
    // mail a new one ("1ère connexion").
    let students = &described.entries[1];
    assert_eq!(students.title, "1ère connexion");
    // Guests invited by a sponsor get their link the same way.
    let profiles: Vec<&str> = students
        .audiences
        .iter()
        .map(|a| a.profile.as_str())
        .collect();
    assert_eq!(profiles, ["guest", "student"]);
    let login = field(students, "login");
    assert!(login.required);
    assert_eq!(login.autocomplete, "username");
}

#[tokio::test]
async fn tours_fields_carry_their_constraints_and_examples_in_both_languages() {
    let app = spawn_app().await;
    for (language, label) in [("fr-FR", "Numéro étudiant"), ("en", "Student number")] {
        let described = describe(&app, "univ-tours", language)
            .await
            .expect("described");
        // New students by identity check; staff and guests by mailed link.
        let channels: Vec<i32> = described.entries.iter().map(|e| e.channel).collect();
        assert_eq!(
            channels,
            [
                proto::ActivationChannel::MailedLink as i32,
                proto::ActivationChannel::IdentityMatch as i32
            ]
        );
        let entry = &described.entries[1];
        let number = field(entry, "identity_match.student_number");
        assert_eq!(number.label, label);
        assert_eq!((number.min_length, number.max_length), (8, 8));
        assert_eq!(number.pattern, "[0-9]{8}");
        assert_eq!(number.example, "22012345");
        let ine = field(entry, "identity_match.ine");
        assert_eq!((ine.min_length, ine.max_length), (11, 11));
        let phone = field(entry, "identity_match.mobile_phone");
        assert_eq!(phone.kind, proto::FieldKind::Phone as i32);
        assert_eq!(phone.example, "+33788102599");
        assert!(!phone.help.is_empty());
    }
    let english = describe(&app, "univ-tours", "en").await.expect("described");
    assert_eq!(english.entries[1].title, "Student identification");
}

#[tokio::test]
async fn bordeaux_names_its_fields_as_its_certificate_does() {
    let app = spawn_app().await;
    let described = describe(&app, "u-bordeaux-montaigne", "fr")
        .await
        .expect("described");
    let entry = &described.entries[0];
    assert_eq!(
        entry.channel,
        proto::ActivationChannel::ActivationKey as i32
    );
    assert_eq!(field(entry, "key.login").example, "jmartin001");
    assert_eq!(
        field(entry, "key.activation_key").label,
        "Mot de passe / Clé d'activation"
    );
    let unknown = describe(&app, "nowhere", "fr").await.unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(violations(&unknown), ["institution"]);
}
