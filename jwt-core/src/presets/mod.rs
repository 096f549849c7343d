//! Presets: configurations expressed as data over the generic pieces. A generic module never
//! depends on a preset.

pub(crate) mod agent_os;
pub(crate) mod idp;
