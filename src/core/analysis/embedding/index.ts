/** Reading a memory's key and value vectors in embedding space. */
export { readValue, readKey, readScores, type ReadToken, type VectorReading } from './reading';
