//! Helpers shared by Fieldbook's end-to-end and cross-process tests.
