
// Appended to dist/node/threadkeeper.js by the Makefile: the model of recall by
// meaning ships beside this file (meaning.tkem) and is loaded from those bytes, so
// `new SearchIndex({meaning: true})` works as soon as the package is required.
module.exports.loadMeaningModel(require('fs').readFileSync(require('path').join(__dirname, 'meaning.tkem')));
