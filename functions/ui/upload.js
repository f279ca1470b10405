import { api } from './api.js';

/** What the upload endpoint accepts, for files the browser gives no type (a `.tsv` on many systems). */
const TYPES_BY_EXTENSION = { csv: 'text/csv', tsv: 'text/tab-separated-values', txt: 'text/plain' };

/**
 * Uploads a file straight to Blob storage (the claim check): POST /api/uploads for a write-only SAS URL, then a PUT
 * there. XMLHttpRequest rather than fetch, because only it reports upload progress. Resolves to the blob reference
 * (`uploads/<uuid>/<name>`) to put in the task's input.
 */
export async function uploadFile(file, onProgress) {
  const extension = file.name.split('.').pop()?.toLowerCase() ?? '';
  const contentType = file.type || TYPES_BY_EXTENSION[extension] || 'application/octet-stream';
  const upload = await api.createUpload({ filename: file.name, contentType, size: file.size });
  await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method, upload.uploadUrl);
    for (const [name, value] of Object.entries(upload.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new Error(`Blob storage refused the upload (${xhr.status}).`));
    });
    xhr.addEventListener('error', () =>
      reject(new Error('The upload could not reach Blob storage (network or CORS).')),
    );
    xhr.send(file);
  });
  onProgress(1);
  return upload.blob;
}
