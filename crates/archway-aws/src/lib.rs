//! `archway-aws` — the AWS protocol pieces Archway shares between its planes.
//!
//! Owns:
//! - **SigV4** ([`sigv4`]): verifying AWS Signature Version 4 on incoming requests (header and
//!   presigned query forms) for `AWS_IAM` authorization, and signing outgoing requests (tests,
//!   the remote Lambda `Invoke` client).
//! - The shared credentials file format ([`credentials_file`]), for the admin key file and the
//!   remote Lambda client.
//! - Later: ARNs, and IAM policy evaluation for resource policies and authorizer output.
//!
//! Must never:
//! - log, print or put in an error message a secret: secret access keys, session tokens,
//!   signing keys, or the raw `Authorization` header (which may carry a bearer token sent to
//!   the wrong route). [`sigv4::Credentials`] redacts itself in `Debug`;
//! - panic on anything that came from the network: every parse returns a [`sigv4::SigV4Error`];
//! - compare a signature or token in variable time;
//! - do I/O: credential lookup is the caller's, behind [`sigv4::CredentialLookup`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod credentials_file;
pub mod sigv4;
