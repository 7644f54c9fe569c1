//! Request fields several services read the same way: an address typed
//! twice, a photo choice.

use std::collections::BTreeSet;

use crate::app::settings::PresenceProof;
use crate::domain::activation::{PhotoDecision, PhotoUse};
use crate::domain::ids::MailAddress;
use crate::domain::problem::{Problem, Violation};
use crate::proto;

/// An address typed twice, at `field` of the request.
pub fn mail_input(input: &proto::MailInput, field: &str) -> Result<MailAddress, Violation> {
    let address = MailAddress::parse(&input.address)
        .map_err(|e| Violation::new(format!("{field}.address"), e))?;
    if !input
        .confirmation
        .trim()
        .eq_ignore_ascii_case(input.address.trim())
    {
        return Err(Violation::new(
            format!("{field}.confirmation"),
            Problem::AddressesDiffer,
        ));
    }
    Ok(address)
}

/// A required address typed twice, at `field` of the request.
pub fn required_mail_input(
    input: Option<&proto::MailInput>,
    field: &str,
) -> Result<MailAddress, crate::app::AppError> {
    use crate::app::AppError;
    let input = input.ok_or_else(|| AppError::field(field, Problem::Missing))?;
    mail_input(input, field).map_err(|v| AppError::InvalidArgument(vec![v]))
}

/// A photo choice, at `field` of the request.
pub fn photo_choice(p: &proto::PhotoChoice, field: &str) -> Result<PhotoDecision, Vec<Violation>> {
    let mut problems = Vec::new();
    if p.refuse {
        if !p.uses.is_empty() {
            problems.push(Violation::new(
                format!("{field}.uses"),
                Problem::PhotoRefusalWithUses,
            ));
        }
        if !p.irreversibility_acknowledged {
            problems.push(Violation::new(
                format!("{field}.irreversibility_acknowledged"),
                Problem::PhotoRefusalNotAcknowledged,
            ));
        }
        return if problems.is_empty() {
            Ok(PhotoDecision::Refuse)
        } else {
            Err(problems)
        };
    }
    let mut uses = BTreeSet::new();
    for u in &p.uses {
        match proto::PhotoUse::try_from(*u) {
            Ok(proto::PhotoUse::CardReprint) => uses.insert(PhotoUse::CardReprint),
            Ok(proto::PhotoUse::TutorialSheets) => uses.insert(PhotoUse::TutorialSheets),
            Ok(proto::PhotoUse::PhotoDirectory) => uses.insert(PhotoUse::PhotoDirectory),
            _ => {
                problems.push(Violation::new(
                    format!("{field}.uses"),
                    Problem::UnknownValue,
                ));
                false
            }
        };
    }
    if uses.is_empty() && problems.is_empty() {
        problems.push(Violation::new(
            format!("{field}.uses"),
            Problem::NoPhotoUseChosen,
        ));
    }
    if problems.is_empty() {
        Ok(PhotoDecision::Allow(uses))
    } else {
        Err(problems)
    }
}

/// The proof of presence a request brings, if any.
pub fn presence(proof: Option<&proto::PresenceProof>) -> Option<PresenceProof> {
    use proto::presence_proof::Proof;
    match proof?.proof.as_ref()? {
        Proof::CurrentPassword(p) => Some(PresenceProof::CurrentPassword(p.clone())),
        Proof::StepUpToken(t) => Some(PresenceProof::StepUpToken(t.clone())),
    }
}

/// The answers to the institution's own consent items a request carries,
/// by item (an item named twice has its choices put together); none when
/// it carries none.
pub fn consent_input(
    answers: &[proto::ConsentAnswerInput],
) -> Option<crate::domain::consent_items::ConsentInput> {
    let mut input = crate::domain::consent_items::ConsentInput::new();
    for answer in answers {
        let choices = input.entry(answer.item.trim().to_owned()).or_default();
        choices.extend(answer.choices.iter().map(|c| c.trim().to_owned()));
    }
    (!input.is_empty()).then_some(input)
}
