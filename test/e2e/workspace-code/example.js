// Return a friendly greeting for the captain of the ship.
function greet(name) {
  return `Hello, ${name}!`;
}
