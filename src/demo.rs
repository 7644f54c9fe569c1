//! `ent-identity demo`: provisions one demo account per way in of the
//! three example universities through the public API, opens their
//! activation at once (`OpenActivation`) and prints what to type in the
//! portal — so that a newcomer activates an account within a minute of
//! `serve`. It is a client of the API like any other.

use proto::account_lifecycle_service_client::AccountLifecycleServiceClient;
use tonic::transport::Channel;

/// Where the API and the portal are, and the admin token.
pub struct DemoTarget {
    pub api_url: String,
    pub token: String,
    pub portal_url: String,
}

/// One demo account, as provisioned.
struct Demo {
    institution: &'static str,
    /// What the person types, line by line.
    what_to_type: Vec<String>,
}

fn request<T>(body: T, token: &str) -> Result<tonic::Request<T>, String> {
    let mut request = tonic::Request::new(body);
    let value = format!("Bearer {}", token.trim())
        .parse()
        .map_err(|_| "the token is not a header value".to_owned())?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// Provisions `record` and opens its activation now; the answer.
async fn provision(
    client: &mut AccountLifecycleServiceClient<Channel>,
    token: &str,
    record: proto::ProvisionRecord,
) -> Result<proto::ProvisionAccountResponse, String> {
    let body = proto::ProvisionAccountRequest {
        record: Some(record),
        ..Default::default()
    };
    let provisioned = client
        .provision_account(request(body, token)?)
        .await
        .map_err(|s| format!("ProvisionAccount: {}", s.message()))?
        .into_inner();
    let account = provisioned.account.as_ref().ok_or("no account")?;
    let open = proto::OpenActivationRequest {
        account: Some(proto::AccountSelector {
            institution: String::new(),
            identifier: Some(proto::account_selector::Identifier::AccountId(
                account.account_id.clone(),
            )),
        }),
        reason: "démonstration (ent-identity demo)".into(),
    };
    client
        .open_activation(request(open, token)?)
        .await
        .map_err(|s| format!("OpenActivation: {}", s.message()))?;
    Ok(provisioned)
}

/// A valid INE-BEA (10 digits and their key letter).
fn ine(number: u64) -> String {
    const KEYS: &[u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    let number = number % 10_000_000_000;
    format!("{number:010}{}", KEYS[(number % 23) as usize] as char)
}

fn record(institution: &str, profile: &str, given: &str, family: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: institution.into(),
        profile: profile.into(),
        given_name: given.into(),
        family_name: family.into(),
        birth_date: "2004-05-17".into(),
        ..Default::default()
    }
}

async fn demos(
    client: &mut AccountLifecycleServiceClient<Channel>,
    token: &str,
    n: u64,
) -> Result<Vec<Demo>, String> {
    let mut demos = Vec::new();
    let mut bordeaux = record("u-bordeaux-montaigne", "student", "Camille", "Martin");
    bordeaux.student_number = format!("21{n:06}");
    let answer = provision(client, token, bordeaux).await?;
    let material = answer.activation_material.unwrap_or_default();
    let login = answer.account.map(|a| a.login).unwrap_or_default();
    demos.push(Demo {
        institution: "u-bordeaux-montaigne",
        what_to_type: vec![
            format!("Identifiant : {login}"),
            format!("Clé d'activation : {}", material.activation_key),
        ],
    });
    let mut staff = record("umontpellier", "staff_tenured", "Alix", "Bernard");
    staff.hr_id = format!("DEMO-{n}");
    staff.personal_mail = format!("alix.bernard.{n}@example.org");
    let answer = provision(client, token, staff).await?;
    let material = answer.activation_material.unwrap_or_default();
    let login = answer.account.map(|a| a.login).unwrap_or_default();
    demos.push(Demo {
        institution: "umontpellier",
        what_to_type: vec![
            format!("Nom de connexion : {login}"),
            format!(
                "Mot de passe provisoire : {}",
                material.provisional_password
            ),
            "Les liens de vérification arrivent dans data/mail.".into(),
        ],
    });
    let mut student = record("umontpellier", "student", "Hugo", "Petit");
    student.student_number = format!("22{n:06}");
    student.personal_mail = format!("hugo.petit.{n}@example.org");
    provision(client, token, student).await?;
    demos.push(Demo {
        institution: "umontpellier",
        what_to_type: vec![format!(
            "Étudiant : le lien d'activation est dans data/mail (à hugo.petit.{n}@example.org)"
        )],
    });
    let mut tours = record("univ-tours", "student", "Léa", "Dubois");
    tours.student_number = format!("23{n:06}");
    tours.ine = ine(n);
    tours.mobile_phone = "+33612345678".into();
    provision(client, token, tours.clone()).await?;
    demos.push(Demo {
        institution: "univ-tours",
        what_to_type: vec![
            format!("Numéro étudiant : {}", tours.student_number),
            format!("Code INE : {}", tours.ine),
            "Téléphone : +33612345678 (le code arrive dans data/sms et data/mail)".into(),
        ],
    });
    Ok(demos)
}

/// Provisions the demo accounts and prints what to type.
pub async fn run(target: DemoTarget) -> Result<(), String> {
    let channel = tonic::transport::Endpoint::from_shared(target.api_url.clone())
        .map_err(|_| format!("{}: not a URL", target.api_url))?
        .connect()
        .await
        .map_err(|e| format!("{}: {e}", target.api_url))?;
    let mut client = AccountLifecycleServiceClient::new(channel);
    // Numbers of their own each run: provisioning the same record twice
    // returns no new material.
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 1_000_000;
    for demo in demos(&mut client, &target.token, n).await? {
        println!(
            "{}/{}/activation",
            target.portal_url.trim_end_matches('/'),
            demo.institution
        );
        for line in demo.what_to_type {
            println!("    {line}");
        }
    }
    Ok(())
}
