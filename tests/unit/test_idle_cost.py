"""The idle month of a template (bench/cost.py idle_cost): each billed resource counted at
its list price, every other resource free while idle (#35)."""

from __future__ import annotations

from bench.cost import IDLE_PRICES, idle_cost


def test_each_billed_resource_is_counted_at_its_price() -> None:
    template = {
        "Resources": {
            "Acl": {"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [{}, {}, {}, {}]}},
            "Key": {"Type": "AWS::KMS::Key"},
            "Secret": {"Type": "AWS::SecretsManager::Secret"},
            "Plain": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "x"}},
            # a metric math alarm is billed per metric it reads (CloudWatch pricing)
            "Math": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Metrics": [
                {"Id": "a", "MetricStat": {}}, {"Id": "b", "MetricStat": {}},
                {"Id": "e", "Expression": "a / b"},
            ]}},
            "Board": {"Type": "AWS::CloudWatch::Dashboard"},
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Table": {"Type": "AWS::DynamoDB::Table"},
            "Api": {"Type": "AWS::ApiGateway::RestApi"},
        }
    }  # fmt: skip

    lines = idle_cost(template)

    assert lines == {
        "a standard-resolution alarm metric x 3": 0.3,
        "a dashboard x 1": 3.0,
        "a customer managed key x 1": 1.0,
        "a secret x 1": 0.4,
        "a web ACL x 1": 5.0,
        "a rule of a web ACL x 4": 4.0,
    }
    assert all(page.startswith("https://aws.amazon.com/") for _, _, page in IDLE_PRICES.values())
