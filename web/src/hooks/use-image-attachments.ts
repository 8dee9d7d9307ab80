import { useCallback, useRef, useState } from 'preact/hooks';
import {
  type ImageAttachment,
  imageFileProblem,
  imageSignatureBytes,
  messageSizeProblem,
  notAnImage,
  sniffImageType,
  withImageType,
} from '../image-attachments';

export interface ImageAttachmentsState {
  images: ImageAttachment[];
  /** Why the last file picked (or the last send) was refused; shown next to the control. */
  error: string | undefined;
  /** Checks and reads each file in turn; `text` is the draft, which shares the size budget. */
  add: (files: readonly File[], text: string) => Promise<void>;
  remove: (key: string) => void;
  /** Empties the list for a send, returning what it held. */
  take: () => ImageAttachment[];
  /** Puts back images of a send that was refused, unless others were attached since. */
  restore: (images: ImageAttachment[]) => void;
  setError: (error: string | undefined) => void;
}

let nextKey = 0;

function readDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    // readAsDataURL always gives a string.
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(file);
  });
}

/** The images attached to the next message, kept in the browser until it is sent. */
export function useImageAttachments(): ImageAttachmentsState {
  const [images, setImages] = useState<ImageAttachment[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  // The list as of now, for checks made between awaits (state updates land later).
  const current = useRef<ImageAttachment[]>([]);

  const replace = useCallback((next: ImageAttachment[]) => {
    current.current = next;
    setImages(next);
  }, []);

  const add = useCallback(
    async (files: readonly File[], text: string) => {
      setError(undefined);
      for (const file of files) {
        // Checked before reading: a refused file is never read into memory.
        const problem = imageFileProblem(file);
        if (problem !== undefined) {
          setError(problem);
          return;
        }
        let dataUrl: string;
        try {
          // The leading bytes first: a file that is no image (whatever its name) is not read.
          const leading = await file.slice(0, imageSignatureBytes).arrayBuffer();
          const type = sniffImageType(new Uint8Array(leading));
          if (type === undefined) {
            setError(notAnImage(file.name));
            return;
          }
          dataUrl = withImageType(await readDataUrl(file), type);
        } catch {
          setError(`${file.name} could not be read.`);
          return;
        }
        nextKey += 1;
        const next = [...current.current, { key: `image-${nextKey}`, name: file.name, dataUrl }];
        const tooLarge = messageSizeProblem(text, next);
        if (tooLarge !== undefined) {
          setError(`${file.name} was not attached. ${tooLarge}`);
          return;
        }
        replace(next);
      }
    },
    [replace],
  );

  const remove = useCallback(
    (key: string) => {
      setError(undefined);
      replace(current.current.filter((image) => image.key !== key));
    },
    [replace],
  );

  const take = useCallback(() => {
    const taken = current.current;
    replace([]);
    return taken;
  }, [replace]);

  const restore = useCallback(
    (taken: ImageAttachment[]) => {
      if (current.current.length === 0) replace(taken);
    },
    [replace],
  );

  return { images, error, add, remove, take, restore, setError };
}
