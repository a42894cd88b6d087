export { readHyperPyYaml, PyObject, type HyperValue } from './hyperpyyaml.js';
export { speakerRecipe, type EcapaShape, type FbankSettings, type SpeakerRecipe } from './speaker-recipe.js';
