import { CreateUploadSchema, type Upload } from '../../../contract/api-schemas';
import { handler } from '../handle';
import { invalidFields, json } from '../responses';
import { fieldErrors } from '../../../engine/task-service';

/** POST /api/uploads: a short-lived write-only URL for one new blob in `uploads`, for files too big to POST. */
export const createUpload = handler(
  async ({ readJson, services }) => {
    const body = await readJson(64 * 1024);
    if (!body.ok) return body.response;
    const parsed = CreateUploadSchema.safeParse(body.value);
    if (!parsed.success) return invalidFields('invalid-upload', fieldErrors(parsed.error, ''));
    const maxBytes = services.settings.maxUploadBytes;
    if (parsed.data.size > maxBytes) {
      return invalidFields('invalid-upload', [{ path: 'size', message: `at most ${maxBytes} bytes` }]);
    }
    return json<Upload>(201, await services.uploads.create(parsed.data));
  },
  { limit: 'submit' },
);
