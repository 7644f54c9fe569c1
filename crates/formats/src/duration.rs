//! Durations in configuration: read as humantime reads them (`30s`,
//! `15min`, `90days`, `1h 30m`), written back in the largest unit that
//! holds them exactly (`90days`, `36h`, `1500ms`), as a person would type
//! them — humantime writes 90 days as `2months 29days 2h 52m 48s`, its
//! months being 30.44 days. For `#[serde(with = "formats::duration")]` on a
//! `Duration` or an `Option<Duration>`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// The units a duration is written in, largest first.
const UNITS: [(u128, &str); 5] = [
    (86_400_000, "days"),
    (3_600_000, "h"),
    (60_000, "min"),
    (1_000, "s"),
    (1, "ms"),
];

/// `duration` as it would be typed: a whole number of its largest exact
/// unit (below a millisecond: nanoseconds).
pub fn text(duration: Duration) -> String {
    let millis = duration.as_millis();
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return format!("{}ns", duration.as_nanos());
    }
    if millis == 0 {
        return "0s".to_owned();
    }
    let (size, unit) = UNITS
        .into_iter()
        .find(|(size, _)| millis.is_multiple_of(*size))
        .unwrap_or((1, "ms"));
    let count = millis / size;
    match (count, unit) {
        (1, "days") => "1day".to_owned(),
        _ => format!("{count}{unit}"),
    }
}

/// A duration field or an optional one.
pub trait DurationField: Sized {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

fn parse<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
    humantime::parse_duration(text).map_err(|e| {
        E::custom(format!(
            "{text:?} is not a duration such as 30s, 15min or 90days: {e}"
        ))
    })
}

impl DurationField for Duration {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(*self))
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse(&String::deserialize(d)?)
    }
}

impl DurationField for Option<Duration> {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(duration) => s.serialize_some(&text(*duration)),
            None => s.serialize_none(),
        }
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| parse(&text))
            .transpose()
    }
}

pub fn serialize<T: DurationField, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    value.write(s)
}

pub fn deserialize<'de, T: DurationField, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    T::read(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_as_typed() {
        let days = |n: u64| Duration::from_secs(n * 86_400);
        assert_eq!(text(days(90)), "90days");
        assert_eq!(text(days(1)), "1day");
        assert_eq!(text(Duration::from_secs(36 * 3600)), "36h");
        assert_eq!(text(Duration::from_secs(15 * 60)), "15min");
        assert_eq!(text(Duration::from_secs(30)), "30s");
        assert_eq!(text(Duration::from_millis(1500)), "1500ms");
        assert_eq!(text(Duration::ZERO), "0s");
        assert_eq!(text(Duration::from_nanos(1500)), "1500ns");
        for typed in [
            "90days", "1day", "36h", "15min", "30s", "1500ms", "0s", "1500ns",
        ] {
            let read = humantime::parse_duration(typed).unwrap();
            assert_eq!(text(read), typed, "read back");
        }
    }
}
