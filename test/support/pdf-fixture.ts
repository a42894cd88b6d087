import { writeFile } from 'node:fs/promises';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/**
 * A PDF with a text layer, a page per string (an empty string: a page with
 * no text, as a scanned page is to a text extractor). Deterministic: the
 * dates are fixed, so the same pages make the same bytes.
 */
export async function writePdfFixture(path: string, pages: readonly string[]): Promise<void> {
  const doc = await PDFDocument.create();
  doc.setCreationDate(new Date(0));
  doc.setModificationDate(new Date(0));
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const text of pages) {
    const page = doc.addPage([400, 300]);
    if (text) page.drawText(text, { x: 20, y: 260, font, size: 10, maxWidth: 360, lineHeight: 12 });
  }
  await writeFile(path, await doc.save({ useObjectStreams: false }));
}
