/*
 * A program outside this tree, built against the installed libflock only.
 * It checks the linked version and makes one call that needs the internal
 * code folded into the library (HMAC signing and verification), so a
 * libflock.a missing src/common's objects fails to link.
 */
#include <stdio.h>
#include <string.h>

#include <flock.h>

static int sign_and_verify(void)
{
	static const char body[] =
	        "{\"id\":\"evt_1\",\"name\":\"customer.created\","
	        "\"timestamp\":1732630000000,\"data\":{}}";
	const char *secrets[] = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
	flock_webhook_sign_params sp = FLOCK_WEBHOOK_SIGN_PARAMS_INIT;
	flock_webhook_params vp = FLOCK_WEBHOOK_PARAMS_INIT;
	flock_webhook_headers *headers = NULL;
	flock_event *event = NULL;
	int rc;

	sp.payload = body;
	sp.payload_len = strlen(body);
	sp.secrets = secrets;
	sp.secret_count = 1;
	rc = flock_webhooks_sign(&headers, &sp);
	if (rc != 0)
		goto done;
	vp.payload = body;
	vp.payload_len = strlen(body);
	vp.secret = secrets[0];
	vp.signature = headers->flock_signature;
	vp.max_age_ms = 0;
	rc = flock_webhooks_construct_event(&event, &vp);
	if (rc == 0 && strcmp(flock_event_name(event), "customer.created") != 0)
		rc = FLOCK_ERROR;
done:
	if (rc != 0)
		fprintf(stderr, "sign/verify: %s\n", flock_strerror(rc));
	flock_event_free(event);
	flock_webhook_headers_free(headers);
	return rc;
}

int main(void)
{
	int major = -1;
	const char *v = flock_version(&major, NULL, NULL);

	if (strcmp(v, FLOCK_VERSION) != 0 || major != FLOCK_VERSION_MAJOR) {
		fprintf(stderr, "linked %s, compiled against %s\n", v,
		        FLOCK_VERSION);
		return 1;
	}
	if (sign_and_verify() != 0)
		return 1;
	printf("flock %s\n", v);
	return 0;
}
