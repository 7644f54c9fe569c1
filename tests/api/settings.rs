//! Account settings after activation.
