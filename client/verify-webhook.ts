/** For webhook receivers: checks the `Longhaul-Signature` header of a completion webhook against the raw body. */
export { SIGNATURE_HEADER, verifyWebhookSignature } from '../functions/webhooks/webhook-signature';
