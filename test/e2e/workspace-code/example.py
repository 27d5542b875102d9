def greet(name):
    """Return a friendly greeting for the captain of the ship."""
    message = "Hello, " + name + "!"
    return message


print(greet("world"))
