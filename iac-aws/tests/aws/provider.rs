//! The provider itself: configuration errors are caught before any resource
//! is touched, and AWS errors name the resource, operation and message.

use iac_aws::ec2::Vpc;
use iac_aws::{AwsProvider, AwsSettings};
use iac_core::Provider;

use crate::support::*;

/// Runs in a child process with no AWS settings in its environment, since
/// other tests of this binary set credentials for the emulator.
#[test]
fn missing_region_or_credentials_is_one_clear_error_naming_what_to_set() {
    const NAME: &str = "provider::missing_region_or_credentials_is_one_clear_error_naming_what_to_set";
    if std::env::var_os("IAC_CLEAN_ENV_CHILD").is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env_clear()
            .env("IAC_CLEAN_ENV_CHILD", "1")
            .env("HOME", "/nonexistent")
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("run the child");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "child failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = AwsProvider::new(AwsSettings::default());
        let err = p.preflight().await.expect_err("preflight must fail without a region");
        assert!(err.to_string().contains("AWS_REGION"), "names the region setting: {err}");

        let p = AwsProvider::new(AwsSettings { region: Some("us-east-1".into()), ..Default::default() });
        let err = p.preflight().await.expect_err("preflight must fail without credentials");
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "names the credential settings: {err}");
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_error_names_the_resource_the_operation_and_the_message() {
    let h = Harness::new();
    // The emulator rejects a VPC range AWS does not allow; the preview check
    // is bypassed by declaring it through the untyped API.
    let s = h.session("err", |s| {
        s.register(
            "weird",
            <Vpc as iac_core::Resource>::schema(),
            iac_core::props([("cidrBlock", iac_core::Value::from("10.0.0.0/8").into())]),
            Default::default(),
        );
    });
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up runs");
    let failure = a.report.failures.join("\n");
    assert!(failure.contains("weird"), "names the resource: {failure}");
    assert!(failure.contains("CreateVpc"), "names the operation: {failure}");
    assert!(failure.contains("InvalidVpc.Range") || failure.contains("range"), "carries AWS's message: {failure}");
    assert!(a.report.state.resources.is_empty(), "nothing recorded for a failed create");
}
