/**
 * Where the backend's heat map goes on the page: the rendered image content inside an <img>
 * element (CSS `object-fit`, centred `object-position`) and the model's centre crop within it.
 * Pure, unit-tested.
 */

/**
 * The box, in px relative to the element's top-left corner, where the image content is drawn.
 * @param {{width: number, height: number}} element the element's rendered size, px
 * @param {{width: number, height: number}} natural the image's own size, px (any scale: only
 *   the aspect ratio matters for contain/cover)
 * @param {string} [objectFit] fill (default) | contain | cover | none | scale-down
 * @returns {{left: number, top: number, width: number, height: number}}
 */
export function contentBox(element, natural, objectFit = 'fill') {
  const W = element.width;
  const H = element.height;
  const w = natural.width;
  const h = natural.height;
  if (!(w > 0 && h > 0) || objectFit === 'fill' || !objectFit) return { left: 0, top: 0, width: W, height: H };
  const contain = Math.min(W / w, H / h);
  const scale = { contain, cover: Math.max(W / w, H / h), none: 1, 'scale-down': Math.min(1, contain) }[objectFit] ?? null;
  if (scale === null) return { left: 0, top: 0, width: W, height: H };
  return { left: (W - w * scale) / 2, top: (H - h * scale) / 2, width: w * scale, height: h * scale };
}

/**
 * The model's crop mapped into a content box.
 * @param {{left: number, top: number, width: number, height: number}} box from {@link contentBox}
 * @param {{x: number, y: number, width: number, height: number, imageWidth: number, imageHeight: number}} crop
 *   the backend's crop, in pixels of the image it decoded
 * @returns {{left: number, top: number, width: number, height: number}} px, rounded to 0.1
 */
export function cropRect(box, crop) {
  const sx = box.width / crop.imageWidth;
  const sy = box.height / crop.imageHeight;
  const r = (v) => Math.round(v * 10) / 10;
  return { left: r(box.left + crop.x * sx), top: r(box.top + crop.y * sy), width: r(crop.width * sx), height: r(crop.height * sy) };
}
