//! Valid answers for walking a form to its end (screenshots, tests): the
//! journey's own samples ([`kiosk_journey::samples::sample_value`]).

use kiosk_catalogue::{Field, FieldKind, FieldValue};
use kiosk_journey::samples::{OptionPick, sample_value};
use time::Date;

/// A valid answer for `field` on `today`; `None` for an optional tick box,
/// which a citizen may leave empty (ticking it could open follow-up fields).
pub(crate) fn answer(field: &Field, today: Date) -> Option<FieldValue> {
    if matches!(field.kind, FieldKind::Checkbox) && !field.required {
        return None;
    }
    Some(sample_value(field, OptionPick::First, today))
}
