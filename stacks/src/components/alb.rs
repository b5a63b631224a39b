//! `PublicAlb`: an internet-facing application load balancer in the public
//! subnets, its security group, and an HTTP listener whose default answer is
//! a 404 (services add path rules to it).

use iac_aws::ec2::{Direction, SecurityGroup, SecurityGroupId, SecurityGroupRule};
use iac_aws::elbv2::{Action, Listener, ListenerArn, ListenerProtocol, LoadBalancer};
use iac_core::{Input, Output, Stack};

use super::Network;

/// What the load balancer looks like.
#[derive(Clone, Debug)]
pub struct PublicAlbArgs {
    /// The load balancer's name (1–32 characters).
    pub name: String,
    /// Refuse deletion (production).
    pub deletion_protection: bool,
    /// Seconds an idle connection is kept.
    pub idle_timeout_seconds: i32,
}

/// The load balancer's handles for services.
pub struct PublicAlb {
    /// Its DNS name (the `alb_dns_name` output of the documents).
    pub dns_name: Output<String>,
    /// `app/<name>/<id>`, for CloudWatch dimensions and scaling labels.
    pub arn_suffix: Output<String>,
    /// The HTTP listener services attach their path rules to.
    pub listener_arn: Output<ListenerArn>,
    /// Its security group: services allow traffic from it.
    pub security_group_id: Output<SecurityGroupId>,
}

impl PublicAlb {
    /// Declares the load balancer as component `name` of `stack`, in the
    /// network's public subnets, open to the internet on port 80.
    pub fn new(stack: &Stack, name: &str, net: &Network, args: &PublicAlbArgs) -> PublicAlb {
        let c = stack.component("stacks:PublicAlb", name);
        let sg = c.add(
            "sg",
            SecurityGroup::builder()
                .name(format!("{}-alb", args.name))
                .description("public HTTP to the load balancer")
                .vpc_id(net.vpc_id.clone())
                .build(),
        );
        c.add(
            "http-in",
            SecurityGroupRule::builder()
                .security_group_id(sg.id.clone())
                .direction(Direction::Ingress)
                .protocol("tcp")
                .from_port(80)
                .to_port(80)
                .cidr_ipv4("0.0.0.0/0")
                .description("HTTP from anywhere")
                .build(),
        );
        let lb = c.add(
            "lb",
            LoadBalancer::builder()
                .name(args.name.clone())
                .subnets(net.public_subnet_ids())
                .security_groups(vec![Input::from(sg.id.as_string())])
                .deletion_protection(args.deletion_protection)
                .idle_timeout_seconds(args.idle_timeout_seconds)
                .build(),
        );
        let listener = c.add(
            "http",
            Listener::builder()
                .load_balancer_arn(lb.id.clone())
                .port(80)
                .protocol(ListenerProtocol::Http)
                .default_action(Action::fixed_response(404, "no such service"))
                .build(),
        );
        PublicAlb {
            dns_name: lb.dns_name.clone(),
            arn_suffix: lb.arn_suffix.clone(),
            listener_arn: listener.id.clone(),
            security_group_id: sg.id.clone(),
        }
    }

    /// The security group as a plain string input.
    pub fn security_group(&self) -> Input<String> {
        self.security_group_id.as_string().into()
    }
}
