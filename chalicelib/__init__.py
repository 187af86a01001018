"""Everything the payment-webhooks Lambdas run. Importing it touches no AWS service."""
